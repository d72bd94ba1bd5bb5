'use client';

import { useId, useRef, useState, type ReactNode } from 'react';
import { useFleet } from '@/lib/fleet/fleet.context';

interface Props {
  /** The button that opens the confirmation. */
  label: string;
  title: string;
  children: ReactNode;
  /** The button that does it. */
  confirmLabel: string;
  danger?: boolean;
  disabled?: boolean;
  onConfirm: () => Promise<void>;
}

/** An action behind a modal confirmation; the native <dialog> traps focus and closes on Escape. */
export function ConfirmButton({ label, title, children, confirmLabel, danger, disabled, onConfirm }: Props) {
  const { explain } = useFleet();
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const id = useId();
  const tone = danger ? 'button button--danger' : 'button button--primary';

  async function confirm() {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      dialog.current?.close();
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <button
        type="button"
        className={danger ? 'button button--danger' : 'button'}
        disabled={disabled}
        onClick={() => {
          setError(null);
          dialog.current?.showModal();
        }}
      >
        {label}
      </button>
      <dialog ref={dialog} className="dialog" aria-labelledby={`${id}-title`} aria-describedby={`${id}-body`}>
        <h2 id={`${id}-title`}>{title}</h2>
        <div id={`${id}-body`}>{children}</div>
        {error && (
          <p role="alert" className="error-list">
            {error}
          </p>
        )}
        <div className="dialog__actions">
          {/* Focus lands on the harmless choice first. */}
          <button type="button" className="button" autoFocus onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="button" className={tone} disabled={busy} onClick={() => void confirm()}>
            {busy ? 'Working…' : confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}
