package org.iommu4j.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.reflect.ClassPath;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Every benchmark's set-up runs, and each of its methods runs once, for every combination of its
 * parameters' values: a change to the model that breaks a benchmark (a table it builds that the
 * model now refuses, say) fails the build instead of the next JMH run. Nothing here is timed;
 * the figures come from the shaded jar only.
 */
class BenchmarksRunOnceTest {

    /** Each benchmark class with one combination of its {@link Param} values. */
    static Stream<Arguments> benchmarks() throws Exception {
        List<Arguments> out = new ArrayList<>();
        List<Class<?>> classes = new ArrayList<>();
        for (ClassPath.ClassInfo ci : ClassPath.from(BenchmarksRunOnceTest.class.getClassLoader())
                .getTopLevelClassesRecursive("org.iommu4j.bench")) {
            if (ci.getPackageName().endsWith("jmh_generated")) {
                continue;
            }
            Class<?> c = ci.load();
            if (Arrays.stream(c.getDeclaredMethods()).anyMatch(m -> m.isAnnotationPresent(Benchmark.class))) {
                classes.add(c);
            }
        }
        classes.sort(Comparator.comparing(Class::getName));
        for (Class<?> c : classes) {
            List<Field> params = Arrays.stream(c.getDeclaredFields())
                    .filter(f -> f.isAnnotationPresent(Param.class))
                    .sorted(Comparator.comparing(Field::getName)).toList();
            for (List<String> values : combinations(params, 0)) {
                out.add(Arguments.of(c.getSimpleName() + (values.isEmpty() ? "" : " " + values), c, params, values));
            }
        }
        assertThat(out).as("benchmark classes under org.iommu4j.bench").isNotEmpty();
        return out.stream();
    }

    private static List<List<String>> combinations(List<Field> params, int i) {
        if (i == params.size()) {
            return List.of(List.of());
        }
        List<List<String>> out = new ArrayList<>();
        for (String v : params.get(i).getAnnotation(Param.class).value()) {
            for (List<String> rest : combinations(params, i + 1)) {
                List<String> l = new ArrayList<>();
                l.add(v);
                l.addAll(rest);
                out.add(l);
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("benchmarks")
    void setsUpAndRunsOnce(String name, Class<?> c, List<Field> params, List<String> values) throws Throwable {
        Object bench = c.getDeclaredConstructor().newInstance();
        for (int i = 0; i < params.size(); i++) {
            Field f = params.get(i);
            f.setAccessible(true);
            f.set(bench, convert(f.getType(), values.get(i)));
        }
        List<Method> benchmarks = annotated(c, Benchmark.class);
        assertThat(benchmarks).allSatisfy(m -> assertThat(m.getParameterCount())
                .as("%s takes arguments: teach this test to supply them", m).isZero());
        invokeAll(bench, annotated(c, Setup.class));
        try {
            for (Method m : benchmarks) {
                m.invoke(bench);
            }
        } catch (InvocationTargetException e) {
            throw e.getCause();
        } finally {
            invokeAll(bench, annotated(c, TearDown.class));
        }
    }

    private static List<Method> annotated(Class<?> c, Class<? extends java.lang.annotation.Annotation> a) {
        return Arrays.stream(c.getDeclaredMethods())
                .filter(m -> m.isAnnotationPresent(a) && !Modifier.isStatic(m.getModifiers()))
                .sorted(Comparator.comparing(Method::getName)).toList();
    }

    private static void invokeAll(Object bench, List<Method> methods) throws Throwable {
        for (Method m : methods) {
            m.setAccessible(true);
            try {
                m.invoke(bench);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object convert(Class<?> type, String v) {
        if (type == String.class) {
            return v;
        } else if (type == boolean.class) {
            return Boolean.parseBoolean(v);
        } else if (type == int.class) {
            return Integer.parseInt(v);
        } else if (type == long.class) {
            return Long.parseLong(v);
        } else if (type.isEnum()) {
            return Enum.valueOf((Class<Enum>) type, v);
        }
        throw new IllegalArgumentException("a @Param of type " + type + ": teach this test to read it");
    }
}
