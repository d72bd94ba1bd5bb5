import type { ProcessAdapter } from '../host/process.adapter';
import { BlockRootfs } from './block.share-fs';
import type { SharedFs, SharedFsKind } from './shared-fs';
import { Virtio9pSharedFs } from './virtio-9p.share-fs';
import { VirtioFsSharedFs } from './virtio-fs.share-fs';

/** The one place that knows every way of giving the guest its rootfs. */
export function createSharedFs(kind: SharedFsKind, proc: ProcessAdapter): SharedFs {
  switch (kind) {
    case 'virtiofs':
      return new VirtioFsSharedFs(proc);
    case '9p':
      return new Virtio9pSharedFs();
    case 'block':
      return new BlockRootfs(proc);
  }
}
