import { ShimError, ShimErrorCode } from '../errors/shim.error';

/** What containerd asks of the binary: `start` a daemon, `delete` after a dead one, or (no action) be the daemon. */
export type ShimAction = 'start' | 'delete' | 'serve';

/**
 * The shim's command line, as containerd 1.6 builds it (runtime/v2/shim/util.go `Command`):
 * `-namespace <ns> -address <containerd's gRPC socket> -publish-binary <containerd> -id <id>
 * [-debug] [-bundle <dir>] start|delete`. `-socket` is ours: `start` tells the daemon where to
 * listen. `-v` prints the version, as Go shims do.
 */
export interface ShimFlags {
  readonly namespace: string;
  readonly address: string;
  readonly publishBinary: string;
  readonly id: string;
  readonly bundle: string;
  readonly socket: string;
  readonly debug: boolean;
  readonly version: boolean;
  readonly action: ShimAction;
}

const STRING_FLAGS = {
  namespace: 'namespace',
  address: 'address',
  'publish-binary': 'publishBinary',
  id: 'id',
  bundle: 'bundle',
  socket: 'socket',
} as const satisfies Record<string, keyof ShimFlags>;

const BOOL_FLAGS = { debug: 'debug', v: 'version' } as const satisfies Record<string, keyof ShimFlags>;

type StringFlag = keyof typeof STRING_FLAGS;
type BoolFlag = keyof typeof BOOL_FLAGS;

const isStringFlag = (name: string): name is StringFlag => Object.hasOwn(STRING_FLAGS, name);
const isBoolFlag = (name: string): name is BoolFlag => Object.hasOwn(BOOL_FLAGS, name);

/**
 * Parses `argv` (without node and the script) the way Go's `flag` package does: `-name value`,
 * `-name=value`, and the same with `--`; a boolean flag takes no separate value (`-debug`,
 * `-debug=false`); flags end at the first argument that is not one, or after `--`. The first
 * argument left is the action. Throws INVALID_CONFIG on an unknown flag, a missing value or an
 * unknown action.
 */
export function parseShimFlags(argv: readonly string[]): ShimFlags {
  const strings: Record<(typeof STRING_FLAGS)[StringFlag], string> = {
    namespace: '',
    address: '',
    publishBinary: 'containerd',
    id: '',
    bundle: '',
    socket: '',
  };
  const bools: Record<(typeof BOOL_FLAGS)[BoolFlag], boolean> = { debug: false, version: false };

  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const body = arg.slice(arg.startsWith('--') ? 2 : 1);
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const inline = eq === -1 ? undefined : body.slice(eq + 1);
    if (isBoolFlag(name)) {
      bools[BOOL_FLAGS[name]] = inline === undefined ? true : parseBool(name, inline);
    } else if (isStringFlag(name)) {
      if (inline !== undefined) {
        strings[STRING_FLAGS[name]] = inline;
      } else {
        if (i + 1 >= argv.length) throw invalid(`flag needs an argument: -${name}`);
        strings[STRING_FLAGS[name]] = argv[++i];
      }
    } else {
      throw invalid(`flag provided but not defined: -${name}`);
    }
  }

  return { ...strings, ...bools, action: parseAction(argv[i]) };
}

function parseAction(arg: string | undefined): ShimAction {
  switch (arg) {
    case undefined:
      return 'serve';
    case 'start':
    case 'delete':
      return arg;
    default:
      throw invalid(`unknown action ${JSON.stringify(arg)}: expected start, delete or none`);
  }
}

// The spellings Go's strconv.ParseBool accepts.
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function parseBool(name: string, value: string): boolean {
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw invalid(`invalid boolean value ${JSON.stringify(value)} for -${name}`);
}

function invalid(message: string): ShimError {
  return new ShimError(ShimErrorCode.INVALID_CONFIG, message);
}
