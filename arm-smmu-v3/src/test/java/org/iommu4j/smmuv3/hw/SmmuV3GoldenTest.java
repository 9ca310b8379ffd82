package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.TestBed.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Literal golden vectors (Linux's STE/CD recipes from the facts sheet), robustness and concurrency. */
@ExtendWith(NoWarnings.class)
class SmmuV3GoldenTest {
    static final long VA = 0x0000_7f00_1234_5000L;
    static final long PA = 0x4567_8000L;

    @Test
    void linuxS1CdTableSteAndS1CdWords() {
        TestBed tb = TestBed.full();
        TestBed.PageTable pt = tb.new PageTable(12, 48);
        long cdtab = tb.alloc(64, 64);
        // arm_smmu_make_s1_cd: T0SZ 16, IRGN0/ORGN0 WBWA, SH0 ISH, EPD1, V, IPS 48-bit, AA64, R, A, ASET, ASID 1
        tb.writeCd(cdtab, 0x0001_e205_c000_3510L, pt.root, 0, 0x0404_ff44L);
        // arm_smmu_make_cdtable_ste: V | Config S1 (0xb) | CD table; S1DSS SSID0, S1CIR/COR WBRA, S1CSH ISH, S1STALLD
        tb.writeSte(1, 0x0000_0000_0000_000bL | cdtab, 0x0000_0000_0800_00d6L);
        pt.map(VA, PA, S1_RW);
        DmaResult r = tb.read(1, VA + 0x44);
        assertThat(r.status).isEqualTo(DmaResult.OK);
        assertThat(r.pa).isEqualTo(PA + 0x44);
        ConfigCache.Ste ste = tb.smmu.configCache().lookupSte(1);
        assertThat(ste.config()).isEqualTo(5);
        assertThat(ste.s1dss()).isEqualTo(2);
        assertThat(ste.s1stalld()).isTrue();
        ConfigCache.Cd cd = tb.smmu.configCache().lookupCd(1, 0);
        assertThat(cd.asid()).isEqualTo(1);
        assertThat(cd.s1().inputBits()).isEqualTo(48);
        assertThat(cd.s1().outBits()).isEqualTo(48);
        assertThat(cd.record()).isTrue();
        assertThat(cd.stall()).isFalse();
    }

    @Test
    void linuxS2Ste() {
        TestBed tb = TestBed.full();
        TestBed.PageTable pt = tb.new PageTable(12, 40, 1);
        // arm_smmu_make_s2_domain_ste: V | Config S2 (0xd); VMID 9 | VTCR(T0SZ 24, SL0 1, IR0/OR0 WBWA, SH0 ISH,
        // TG 4K, PS 48-bit) | S2AA64 | S2PTW | S2R; S2TTB
        tb.writeSte(2, 0xdL, 0, 0x044d_3558_0000_0009L, pt.root);
        pt.map(0x12_3456_7000L, PA, S2_RW);
        DmaResult r = tb.write(2, 0x12_3456_7008L);
        assertThat(r.status).isEqualTo(DmaResult.OK);
        assertThat(r.pa).isEqualTo(PA + 8);
        ConfigCache.Ste ste = tb.smmu.configCache().lookupSte(2);
        assertThat(ste.vmid()).isEqualTo(9);
        assertThat(ste.s2().startLevel()).isEqualTo(1);
        assertThat(ste.s2record()).isTrue();
    }

    @Test
    void stage2With64kGranuleAndHttu() {
        TestBed tb = TestBed.full();
        // 64K granule, 42-bit IPA (T0SZ 22), SL0 = 1: start at level 2 (13 + 13 bits + 16-bit offset)
        TestBed.PageTable pt = tb.new PageTable(16, 42, 2);
        long pte = pt.map(0x3_0000_0000L, 0x4800_0000L, S2AP_R | DBM); // AF = 0, write-clean
        long[] ste = steS2(3, pt.root, 22, 1, 1);
        ste[2] |= (1L << 55) | (1L << 56); // S2HD, S2HA
        tb.writeSte(5, ste);
        DmaResult r = tb.read(5, 0x3_0000_1234L);
        assertThat(r.status).as(r.toString()).isEqualTo(DmaResult.OK);
        assertThat(r.pa).isEqualTo(0x4800_1234L);
        assertThat(r.pageSize).isEqualTo(64 * 1024);
        assertThat(tb.mem.readq(pte) & AF).isEqualTo(AF);
        assertThat(tb.mem.readq(pte) & S2AP_W).isZero();
        assertThat(tb.write(5, 0x3_0000_1234L).status).isEqualTo(DmaResult.OK);
        assertThat(tb.mem.readq(pte) & S2AP_W).isEqualTo(S2AP_W); // dirtied by hardware
    }

    @Test
    void linuxAbortAndBypassStes() {
        TestBed tb = TestBed.full();
        tb.writeSte(3, 0x1L);
        tb.writeSte(4, 0x9L, 1L << 44); // bypass with SHCFG incoming
        assertThat(tb.read(3, PA).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.read(4, PA).pa).isEqualTo(PA);
        assertThat(tb.drainEvents()).isEmpty();
    }

    @Test
    void devicesTranslateWhileTheDriverRemapsAndInvalidates() throws Exception {
        TestBed tb = TestBed.full();
        TestBed.S1 s1 = tb.setupS1(1, 9, 0, 0);
        for (int i = 0; i < 64; i++) {
            s1.pt().map(VA + 4096L * i, PA, S1_RW);
        }
        int threads = 3;
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        CountDownLatch done = new CountDownLatch(threads);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            new Thread(() -> {
                DmaTransaction txn = new DmaTransaction();
                DmaResult r = new DmaResult();
                try {
                    start.await();
                    for (int i = 0; i < 20_000; i++) {
                        txn.set(1, DmaTransaction.NO_SSID, VA + 4096L * ((i + id) & 63), 4, DmaTransaction.ACC_READ);
                        tb.smmu.translate(txn, r);
                        if (r.status != DmaResult.OK || (r.pa != PA && r.pa != PA + 0x10_0000)) {
                            throw new AssertionError("bad translation " + r);
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    done.countDown();
                }
            }).start();
        }
        start.await();
        for (int i = 0; i < 64; i++) {
            s1.pt().map(VA + 4096L * i, PA + 0x10_0000, S1_RW);
            tb.tlbiVa(9, VA + 4096L * i);
        }
        assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();
        assertThat(failure.get()).isNull();
        // after the invalidations every page translates to the new address
        for (int i = 0; i < 64; i++) {
            assertThat(tb.read(1, VA + 4096L * i).pa).isEqualTo(PA + 0x10_0000);
        }
    }

    /** The model is written from the architecture: it never imports the driver (or iommu-core). */
    @Test
    void hardwareModelDoesNotImportTheDriver() throws Exception {
        Path dir = Path.of("src/main/java/org/iommu4j/smmuv3/hw");
        assertThat(dir).isDirectory();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                List<String> bad = Files.readAllLines(f).stream()
                        .filter(l -> l.startsWith("import") && (l.matches("import (static )?org\\.iommu4j\\.smmuv3\\.(?!hw\\.).*")
                                || l.contains("org.iommu4j.iommu")))
                        .toList();
                assertThat(bad).as(f.toString()).isEmpty();
            }
        }
    }
}
