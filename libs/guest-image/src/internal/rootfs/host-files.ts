import { open, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GuestImageError, GuestImageErrorCode } from '../../errors/guest-image.error';
import { hasProgramInterpreter } from '../host/elf';
import { sha256File } from '../host/files';
import type { ProcessRunner } from '../host/process.adapter';
import { parseLddOutput } from './ldd';
import { GUEST_AGENT_PATH } from './rootfs-templates';

/** busybox-static's binary; it must be static because the initramfs has no libraries. */
export const HOST_BUSYBOX = '/bin/busybox';
export const HOST_CRUN = '/usr/bin/crun';
/** Splices vsock connections to the agent (Node has no AF_VSOCK). */
export const HOST_SOCAT = '/usr/bin/socat';

/**
 * moat-spawner, which apps/guest-agent's build compiles beside the agent bundle and the agent
 * looks for beside itself. Static: it runs inside containers, which hold none of our libraries.
 */
const SPAWNER_FILE = 'moat-spawner';

/** node-pty's native addon, which the agent bundle loads by package name (esbuild leaves it external). */
const PTY_ADDON = '@lydell/node-pty-linux-x64/pty.node';

/** A host file copied into the guest. */
export interface HostFile {
  hostPath: string;
  guestPath: string;
  mode: number;
  sha256: string;
}

/**
 * The host files the guest is made of: busybox, node and crun with the shared libraries
 * and loader `ldd` finds for them (at the same paths, so the loader's default search path
 * finds them without an ld.so.cache), and the agent bundle with its spawner.
 */
export async function collectHostFiles(
  processes: ProcessRunner,
  nodeBinary: string,
  agentBundle: string,
): Promise<HostFile[]> {
  await assertStatic(HOST_BUSYBOX, 'install busybox-static');
  const spawner = join(dirname(agentBundle), SPAWNER_FILE);
  await assertStatic(spawner, 'build the guest agent again (npx nx run guest-agent:build)');
  const placements = new Map<string, string>([
    ['/bin/busybox', HOST_BUSYBOX],
    ['/usr/bin/node', nodeBinary],
    ['/usr/bin/crun', HOST_CRUN],
    ['/usr/bin/socat', HOST_SOCAT],
    [GUEST_AGENT_PATH, agentBundle],
    [join(dirname(GUEST_AGENT_PATH), SPAWNER_FILE), spawner],
  ]);
  const ptyAddon = resolveFrom(agentBundle, PTY_ADDON);
  placements.set(join(dirname(GUEST_AGENT_PATH), 'node_modules', PTY_ADDON), ptyAddon);
  for (const binary of [nodeBinary, HOST_CRUN, HOST_SOCAT, ptyAddon]) {
    for (const library of await sharedLibraries(processes, binary)) placements.set(library, library);
  }
  return Promise.all(
    [...placements].map(async ([guestPath, hostPath]) => ({
      hostPath,
      guestPath,
      mode: (await statOrThrow(hostPath)).mode & 0o777,
      sha256: await sha256File(hostPath),
    })),
  );
}

function resolveFrom(file: string, request: string): string {
  try {
    return createRequire(file).resolve(request);
  } catch (cause) {
    throw new GuestImageError(GuestImageErrorCode.HOST_BINARY_UNUSABLE, `${request} is not installed beside ${file}; run npm ci`, { cause });
  }
}

async function sharedLibraries(processes: ProcessRunner, binary: string): Promise<string[]> {
  await statOrThrow(binary);
  const { stdout } = await processes.run('ldd', [binary]);
  const { libraries, missing } = parseLddOutput(stdout.toString('utf8'));
  if (missing.length > 0) {
    throw new GuestImageError(GuestImageErrorCode.HOST_BINARY_UNUSABLE, `${binary} needs ${missing.join(', ')}, which the host lacks`);
  }
  return libraries;
}

async function assertStatic(binary: string, remedy: string): Promise<void> {
  await statOrThrow(binary);
  const file = await open(binary, 'r');
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    if (hasProgramInterpreter(head.subarray(0, bytesRead))) {
      throw new GuestImageError(
        GuestImageErrorCode.HOST_BINARY_UNUSABLE,
        `${binary} is dynamically linked; ${remedy}`,
      );
    }
  } finally {
    await file.close();
  }
}

async function statOrThrow(path: string) {
  try {
    return await stat(path);
  } catch (cause) {
    throw new GuestImageError(GuestImageErrorCode.HOST_BINARY_UNUSABLE, `${path} is missing`, { cause });
  }
}
