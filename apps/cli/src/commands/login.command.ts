import { resolve } from 'node:path';
import { Command } from 'commander';
import { bodyOf } from '@moat/sdk';
import type { CliContext } from '../context/cli.context';

interface LoginOptions {
  token: string;
  ca?: string;
}

/** `moat login <api-url> --token <token> [--ca <file>]`: checks the token, then stores it. */
export function loginCommand(ctx: CliContext): Command {
  return new Command('login')
    .description('check a token against the API and store both in ~/.config/moat/config.json (mode 0600)')
    .argument('<api-url>', 'the control plane, e.g. https://moat.example.com:8080')
    .requiredOption('--token <token>', 'a tenant API key, or the admin token')
    .option('--ca <file>', 'a PEM file of the CA that signed the API certificate (a private CA)')
    .action(async (apiUrl: string, options: LoginOptions) => {
      const login = { apiUrl, token: options.token, ...(options.ca && { caFile: resolve(options.ca) }) };
      const me = await bodyOf(ctx.connect(login).api.GET('/v1/me'));
      await ctx.store.write(login);
      const who = me.kind === 'admin' ? 'the admin' : `tenant ${me.tenant.name} (${me.tenant.id})`;
      ctx.printer.note(`logged in to ${apiUrl} as ${who}; saved in ${ctx.store.file}`);
    });
}
