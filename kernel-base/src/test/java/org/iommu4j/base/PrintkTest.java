package org.iommu4j.base;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoWarnings.class)
class PrintkTest {

    @Test
    void linesAreKeptWithLevelAndDmesgFormat() {
        Printk.prInfo("printk-test %s %d", "hello", 42);
        Printk.prWarn("printk-test warn");
        Printk.prErr("printk-test err 0x%x", 255);
        assertThat(Printk.grep("printk-test")).containsExactly("printk-test hello 42", "printk-test warn", "printk-test err 0xff");
        List<Printk.Line> mine = Printk.lines().stream().filter(l -> l.text().startsWith("printk-test")).toList();
        assertThat(mine).extracting(Printk.Line::level).containsExactly(Printk.KERN_INFO, Printk.KERN_WARNING, Printk.KERN_ERR);
        assertThat(mine.get(0).dmesg()).matches("\\[ *\\d+\\.\\d{6}\\] printk-test hello 42");
        assertThat(mine.get(0).toString()).isEqualTo(mine.get(0).dmesg());
    }

    @Test
    void debugLinesOnlyWhenEnabled() {
        Printk.prDebug("printk-dbg-1");
        Printk.printk(Printk.KERN_DEBUG, "printk-dbg-2");
        assertThat(Printk.grep("printk-dbg")).isEmpty();
        Printk.setDebug(true);
        try {
            Printk.prDebug("printk-dbg-3");
            assertThat(Printk.grep("printk-dbg")).containsExactly("printk-dbg-3");
        } finally {
            Printk.setDebug(false);
        }
    }

    @Test
    void followReceivesLiveLinesUntilClosed() throws Exception {
        List<String> got = new ArrayList<>();
        AutoCloseable h = Printk.follow(l -> {
            if (l.text().startsWith("printk-follow")) {
                got.add(l.text());
            }
        });
        Printk.prInfo("printk-follow a");
        h.close();
        Printk.prInfo("printk-follow b");
        assertThat(got).containsExactly("printk-follow a");
    }

    @Test
    void levelsAreTheKernelDigits() {
        assertThat(List.of(Printk.KERN_EMERG, Printk.KERN_ALERT, Printk.KERN_CRIT, Printk.KERN_ERR, Printk.KERN_WARNING,
                Printk.KERN_NOTICE, Printk.KERN_INFO, Printk.KERN_DEBUG)).containsExactly("0", "1", "2", "3", "4", "5", "6", "7");
    }
}
