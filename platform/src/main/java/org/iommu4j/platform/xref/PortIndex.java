package org.iommu4j.platform.xref;

import java.io.IOException;
import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.iommu4j.base.Port;

/**
 * The cross-reference of {@link Port} annotations, found by scanning the compiled classes of
 * every {@code org.iommu4j} package on the class path (directories or jars).
 */
public final class PortIndex {
    private PortIndex() {}

    /** One port: kernel file and symbol, seed, and the Java element carrying it. */
    public record Entry(String kernelFile, String symbol, String seed, String javaClass, String member) {
        public String format() {
            return String.format(Locale.ROOT, "%-52s %-36s %-5s %s%s", kernelFile, symbol,
                    seed.isEmpty() ? "-" : seed, javaClass, member.isEmpty() ? "" : "#" + member);
        }
    }

    /** Every @Port found, sorted by kernel file then symbol. */
    public static List<Entry> scan() throws IOException {
        List<String> classNames = new ArrayList<>();
        ClassLoader cl = PortIndex.class.getClassLoader();
        var roots = cl.getResources("org/iommu4j");
        while (roots.hasMoreElements()) {
            URL url = roots.nextElement();
            collect(url, classNames);
        }
        List<Entry> out = new ArrayList<>();
        for (String cn : classNames.stream().distinct().toList()) {
            Class<?> c;
            try {
                c = Class.forName(cn, false, cl);
            } catch (ClassNotFoundException | LinkageError e) {
                continue;
            }
            add(out, c, c.getName(), "");
            for (Method m : c.getDeclaredMethods()) {
                add(out, m, c.getName(), m.getName());
            }
            for (Constructor<?> k : c.getDeclaredConstructors()) {
                add(out, k, c.getName(), "<init>");
            }
            for (Field f : c.getDeclaredFields()) {
                add(out, f, c.getName(), f.getName());
            }
        }
        out.sort(Comparator.comparing(Entry::kernelFile).thenComparing(Entry::symbol).thenComparing(Entry::javaClass)
                .thenComparing(Entry::member));
        return out;
    }

    /** Entries whose symbol, file or "file:symbol" equals {@code query} (or whose symbol contains it). */
    public static List<Entry> matching(List<Entry> entries, String query) {
        List<Entry> exact = new ArrayList<>();
        for (Entry e : entries) {
            if (e.symbol().equals(query) || e.kernelFile().equals(query) || (e.kernelFile() + ":" + e.symbol()).equals(query)) {
                exact.add(e);
            }
        }
        if (!exact.isEmpty()) {
            return exact;
        }
        List<Entry> partial = new ArrayList<>();
        for (Entry e : entries) {
            if (e.symbol().contains(query)) {
                partial.add(e);
            }
        }
        return partial;
    }

    private static void add(List<Entry> out, AnnotatedElement el, String cls, String member) {
        for (Port p : el.getAnnotationsByType(Port.class)) {
            String v = p.value();
            int i = v.lastIndexOf(':');
            String file = i < 0 ? v : v.substring(0, i);
            String sym = i < 0 ? "" : v.substring(i + 1);
            out.add(new Entry(file, sym, p.seed(), cls, member));
        }
    }

    private static void collect(URL url, List<String> classNames) throws IOException {
        try {
            if ("jar".equals(url.getProtocol())) {
                String spec = url.toString();
                String jar = spec.substring(0, spec.indexOf("!/"));
                try (FileSystem fs = FileSystems.newFileSystem(java.net.URI.create(jar), Map.of())) {
                    walk(fs.getPath("/org/iommu4j"), fs.getPath("/"), classNames);
                } catch (java.nio.file.FileSystemAlreadyExistsException e) {
                    FileSystem fs = FileSystems.getFileSystem(java.net.URI.create(jar));
                    walk(fs.getPath("/org/iommu4j"), fs.getPath("/"), classNames);
                }
            } else if ("file".equals(url.getProtocol())) {
                Path p = Path.of(url.toURI());
                walk(p, p.getParent().getParent(), classNames);
            }
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
    }

    private static void walk(Path dir, Path root, List<String> classNames) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            s.filter(p -> p.toString().endsWith(".class") && !p.getFileName().toString().equals("module-info.class"))
                    .forEach(p -> {
                        String rel = root.relativize(p).toString().replace('\\', '/');
                        classNames.add(rel.substring(0, rel.length() - ".class".length()).replace('/', '.'));
                    });
        }
    }
}
