'use client';

import { useState } from 'react';
import { useFleet } from '@/lib/fleet/fleet.context';

/**
 * A form's submission: its problems and whether it is under way. `send` runs the request and
 * shows the API's refusal if it fails. A form that leaves the page once sent stays busy, so it
 * cannot be sent twice on the way out.
 */
export function useSubmission() {
  const { explain } = useFleet();
  const [errors, setErrors] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);

  async function send(request: () => Promise<void>, { leavesPage = false } = {}): Promise<void> {
    setBusy(true);
    try {
      await request();
      if (!leavesPage) setBusy(false);
    } catch (err) {
      setErrors([explain(err)]);
      setBusy(false);
    }
  }

  return { errors, setErrors, busy, send };
}
