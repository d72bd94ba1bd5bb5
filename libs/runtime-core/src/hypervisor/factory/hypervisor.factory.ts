import type { ProcessAdapter } from '../../host/process.adapter';
import type { Hypervisor, HypervisorKind } from '../hypervisor';
import { QemuHypervisor } from '../qemu/qemu.hypervisor';

/** The one place that knows every VMM driver (Kata's `HypervisorFactory`). */
export function createHypervisor(kind: HypervisorKind, proc: ProcessAdapter): Hypervisor {
  switch (kind) {
    case 'qemu':
      return new QemuHypervisor(proc);
  }
}
