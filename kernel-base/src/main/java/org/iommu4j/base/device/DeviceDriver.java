package org.iommu4j.base.device;

import java.util.List;
import org.iommu4j.base.Port;

/** {@code struct device_driver}: name, OF match table, probe and remove. */
@Port("include/linux/device/driver.h:device_driver")
public interface DeviceDriver {
    String name();

    /** Compatible strings this driver binds to ({@code of_match_table}). */
    default List<String> ofMatchTable() {
        return List.of();
    }

    /** Returns 0 or -errno; -EPROBE_DEFER asks to be retried later. */
    int probe(Device dev);

    default void remove(Device dev) {}
}
