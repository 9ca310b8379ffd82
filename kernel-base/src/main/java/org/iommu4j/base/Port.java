package org.iommu4j.base;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Repeatable;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a Java type, method, constructor or constant as the port of one kernel symbol.
 *
 * <p>{@code value} is {@code "path/in/linux.c:symbol"} relative to the kernel tree root
 * (v5.15 unless the symbol exists only in a seed series). {@code seed} names the seed series
 * ("000".."004") for APIs that never reached mainline in that form. The annotation is read at
 * run time by {@code iommu-sim xref} and by the coverage report.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.CONSTRUCTOR, ElementType.FIELD})
@Repeatable(Port.List.class)
public @interface Port {
    /** "path/in/linux.c:symbol". */
    String value();

    /** Seed series number for seed-only APIs, empty for mainline. */
    String seed() default "";

    /** Container for a Java element that ports several kernel symbols (aliases). */
    @Documented
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD, ElementType.CONSTRUCTOR, ElementType.FIELD})
    @interface List {
        Port[] value();
    }
}
