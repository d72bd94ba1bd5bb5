import { textField } from '@/lib/form-data';
import type { TemplateFields } from '@/lib/template-diff';
import { RuntimeModeFields } from '../sandboxes/runtime-mode-fields';

/** The inputs of a template version; `initial` pre-fills them (the next version starts from the latest). */
export function TemplateSpecFields({ initial }: { initial?: TemplateFields }) {
  return (
    <>
      <label className="field">
        <span>Image</span>
        <input name="image" defaultValue={initial?.image} placeholder="default busybox" spellCheck={false} />
      </label>
      <label className="field">
        <span>Command</span>
        <input name="command" defaultValue={initial?.command} placeholder="image default" spellCheck={false} />
      </label>
      <div className="form__row">
        <label className="field">
          <span>vCPUs</span>
          <input name="vcpus" type="number" min={1} defaultValue={initial?.vcpus ?? '1'} required />
        </label>
        <label className="field">
          <span>Memory (MiB)</span>
          <input name="memoryMiB" type="number" min={64} step={64} defaultValue={initial?.memoryMiB ?? '256'} required />
        </label>
      </div>
      <RuntimeModeFields networkModel={initial?.networkModel} rootfs={initial?.rootfs} />
      <label className="field">
        <span>Environment</span>
        <textarea name="env" rows={2} defaultValue={initial?.env} placeholder="KEY=VALUE per line" spellCheck={false} />
      </label>
      <label className="field">
        <span>Health check command</span>
        <input name="healthCheck" defaultValue={initial?.healthCheck} placeholder="none" spellCheck={false} />
      </label>
    </>
  );
}

export function readTemplateFields(data: FormData): TemplateFields {
  return {
    image: textField(data, 'image'),
    command: textField(data, 'command'),
    vcpus: textField(data, 'vcpus'),
    memoryMiB: textField(data, 'memoryMiB'),
    networkModel: textField(data, 'networkModel'),
    rootfs: textField(data, 'rootfs'),
    env: textField(data, 'env'),
    healthCheck: textField(data, 'healthCheck'),
  };
}
