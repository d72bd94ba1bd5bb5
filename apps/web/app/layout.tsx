import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import { ApiConfigProvider } from '@/lib/config/api-config.context';
import { publicRuntimeConfig } from '@/lib/config/server-config';
import './globals.css';

// Render per request: the API location comes from the serving environment
// (MOAT_PUBLIC_API_URL / MOAT_API_PORT), and one build runs behind many different ports.
export const dynamic = 'force-dynamic';

export const metadata: Metadata = {
  title: { template: '%s · Moat', default: 'Moat' },
  description: 'Operate microVM sandboxes across the Moat fleet',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a href="#main" className="skip-link">
          Skip to content
        </a>
        <ApiConfigProvider config={publicRuntimeConfig()}>{children}</ApiConfigProvider>
      </body>
    </html>
  );
}
