import { AgentError, AgentErrorCode } from '../errors/agent.error';

/** A filesystem failure on `what` as the agent reports it: the errno decides the code the host sees. */
export function fileError(error: unknown, what: string): AgentError {
  if (error instanceof AgentError) return error;
  const errno = (error as NodeJS.ErrnoException).code ?? '';
  const reason = error instanceof Error ? error.message.replace(/, \w+ '\/proc\/self\/fd\/[^']*'/, '') : String(error);
  switch (errno) {
    case 'ENOENT':
      return new AgentError(AgentErrorCode.FILE_NOT_FOUND, `no such file or directory: ${what}`);
    case 'ENOTDIR':
    case 'EISDIR':
    case 'ELOOP':
    case 'ENAMETOOLONG':
    case 'EINVAL':
      return new AgentError(AgentErrorCode.FILE_PATH_INVALID, `${what}: ${reason}`);
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return new AgentError(AgentErrorCode.FILE_NO_SPACE, `${what}: no space left in the sandbox (${errno})`);
    case 'EROFS':
    case 'EPERM':
    case 'EACCES':
    case 'ETXTBSY':
      return new AgentError(AgentErrorCode.FILE_NOT_WRITABLE, `${what}: ${reason}`);
    default:
      return new AgentError(AgentErrorCode.FILE_IO_FAILED, `${what}: ${reason}`);
  }
}
