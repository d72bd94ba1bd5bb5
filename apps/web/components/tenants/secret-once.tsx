'use client';

import { useState } from 'react';

/** A secret the API returns only once: shown with a copy button and a warning. */
export function SecretOnce({ label, secret }: { label: string; secret: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="notice" role="status">
      <p>
        {label}: copy it now, it will not be shown again.
      </p>
      <p>
        <code className="mono secret" aria-label="API key">
          {secret}
        </code>{' '}
        <button
          type="button"
          className="button"
          onClick={() => {
            // Clipboard access is refused on plain-HTTP pages; the key stays selectable then.
            navigator.clipboard.writeText(secret).then(
              () => setCopied(true),
              () => setCopied(false),
            );
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </p>
    </div>
  );
}
