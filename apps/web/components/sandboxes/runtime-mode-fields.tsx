import { NETWORK_MODELS, ROOTFS_MODES } from '@/lib/sandbox-form';

/** The network model and rootfs mode of a sandbox (or a template's sandboxes); '' is the node's default. */
export function RuntimeModeFields({ networkModel = '', rootfs = '' }: { networkModel?: string; rootfs?: string }) {
  return (
    <div className="form__row">
      <label className="field">
        <span>Network model</span>
        <select name="networkModel" defaultValue={networkModel}>
          <option value="">default</option>
          {NETWORK_MODELS.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Rootfs mode</span>
        <select name="rootfs" defaultValue={rootfs}>
          <option value="">default</option>
          {ROOTFS_MODES.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
      </label>
    </div>
  );
}
