import type { Metadata } from 'next';
import { SignInForm } from '@/components/shell/sign-in-form';

export const metadata: Metadata = { title: 'Sign in' };

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ reason?: string | string[] }> }) {
  const { reason } = await searchParams;
  return (
    <main id="main" className="signin">
      <div className="card signin__card">
        <h1>Sign in to Moat</h1>
        <p className="hint">Use an operator token to manage the fleet, or a tenant API key to manage your sandboxes.</p>
        <SignInForm expired={reason === 'expired'} />
      </div>
    </main>
  );
}
