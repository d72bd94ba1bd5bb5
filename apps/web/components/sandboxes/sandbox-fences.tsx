import { Fragment } from 'react';
import { dnsFacts, egressFacts, isolationFacts, type Fact } from '@/lib/sandbox-fences';
import type { Sandbox } from '@moat/sdk';

function Facts({ facts, label }: { facts: Fact[]; label: string }) {
  return (
    <dl className="facts" aria-label={label}>
      {facts.map((fact) => (
        <Fragment key={fact.term}>
          <dt>{fact.term}</dt>
          <dd className={fact.warn ? 'mono fact--warn' : 'mono'}>{fact.value}</dd>
        </Fragment>
      ))}
    </dl>
  );
}

/** How the sandbox's VMM is fenced on its node, once the node has said so. */
export function SandboxIsolation({ sandbox }: { sandbox: Sandbox }) {
  return (
    <section className="card" aria-labelledby="isolation-heading">
      <h2 id="isolation-heading">Isolation</h2>
      {sandbox.isolation ? (
        <Facts facts={isolationFacts(sandbox.isolation)} label="Isolation" />
      ) : (
        <p className="hint" role="status">
          not reported yet
        </p>
      )}
    </section>
  );
}

/** The egress policy and resolver settings the sandbox asked for, when it asked for any. */
export function SandboxNetworkSettings({ sandbox }: { sandbox: Sandbox }) {
  return (
    <>
      {sandbox.egress && (
        <section className="card" aria-labelledby="egress-heading">
          <h2 id="egress-heading">Egress policy</h2>
          <Facts facts={egressFacts(sandbox.egress)} label="Egress policy" />
          <p className="hint">The node itself, 169.254.0.0/16 and other tenants are refused whatever the policy.</p>
        </section>
      )}
      {sandbox.dns && (
        <section className="card" aria-labelledby="dns-heading">
          <h2 id="dns-heading">DNS</h2>
          <Facts facts={dnsFacts(sandbox.dns)} label="DNS" />
        </section>
      )}
    </>
  );
}
