/*
 * moat-spawner: starts a container's exec'd processes without a `crun exec` for each.
 *
 * The guest agent starts one spawner per container with `crun exec`, so the spawner holds
 * exactly what crun gives an exec'd process: the container's namespaces, cgroup, user,
 * capabilities, no_new_privs, seccomp filter and rlimits. Every process it forks inherits all
 * of it, so an exec through the spawner runs as confined as one through crun, for the cost of
 * a fork of this small static program instead of a fork of the agent, a crun and its joins.
 *
 * crun starts it as /proc/self/fd/3 (its own binary, which the agent holds open: nothing is
 * placed in the container's file system) with the agent's socket on fd 4.
 *
 * Frames, both ways: u32 payload length (little endian), u8 type, payload.
 *   agent -> spawner
 *     'S' spawn    u32 id, u32 argc, u32 envc, then NUL-terminated strings: cwd, argv, env
 *     'R' release  u32 id: the agent has opened the process's pipes; the spawner closes its ends
 *                  and lets the process run its command
 *     'K' kill     u32 id, u32 signal
 *   spawner -> agent
 *     'H' hello    u32 protocol version
 *     'S' started  u32 id, i32 pid (in the container), i32 fds of stdin (write end), stdout
 *                  and stderr (read ends), which the agent opens through /proc/<pid>/fd; the
 *                  process waits for the release before it runs its command
 *     'F' failed   u32 id, i32 errno: the spawner could not fork (nothing ran)
 *     'E' exited   u32 id, i32 wait status
 * A command that cannot run (no such file, no permission, no working directory) says why on
 * its stderr and exits 127 or 126, as a shell's would.
 * When the agent's socket closes, the spawner kills what it started and exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROTOCOL_VERSION 1
#define BINARY_FD 3
#define AGENT_FD 4
#define MAX_FRAME (4u << 20)
#define MAX_CHILDREN 256

struct child {
  int used;
  uint32_t id;
  pid_t pid;
  int exited;
  int released;
  int fds[3];
  /* Written to once the agent has the process's pipes: the process may run its command. */
  int go;
};

static struct child children[MAX_CHILDREN];
static int sigchld_pipe[2];
extern char **environ;

static void on_sigchld(int signo) {
  (void)signo;
  int saved = errno;
  char byte = 0;
  /* The pipe is non-blocking: when it is full, a wakeup is already pending. */
  if (write(sigchld_pipe[1], &byte, 1) < 0) errno = saved;
  errno = saved;
}

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void write_all(const unsigned char *data, size_t length) {
  while (length > 0) {
    ssize_t n = write(AGENT_FD, data, length);
    if (n < 0 && errno == EINTR) continue;
    /* The agent is gone: nobody is left to report to. */
    if (n <= 0) _exit(1);
    data += n;
    length -= (size_t)n;
  }
}

/* Sends a frame of `count` u32 fields. */
static void send_frame(char type, const uint32_t *fields, size_t count) {
  unsigned char frame[5 + 4 * 5];
  put_u32(frame, (uint32_t)(1 + 4 * count));
  frame[4] = (unsigned char)type;
  for (size_t i = 0; i < count; i++) put_u32(frame + 5 + 4 * i, fields[i]);
  write_all(frame, 5 + 4 * count);
}

static void send_failed(uint32_t id, int error) {
  uint32_t fields[2] = {id, (uint32_t)error};
  send_frame('F', fields, 2);
}

static struct child *find_child(uint32_t id) {
  for (int i = 0; i < MAX_CHILDREN; i++) {
    if (children[i].used && children[i].id == id) return &children[i];
  }
  return NULL;
}

/* The agent has opened the process's pipes: the spawner lets go of its ends and of the process. */
static void release(struct child *c) {
  for (int i = 0; i < 3; i++) {
    if (c->fds[i] >= 0) close(c->fds[i]);
    c->fds[i] = -1;
  }
  if (!c->exited && write(c->go, "g", 1) < 0) kill(c->pid, SIGKILL);
  close(c->go);
  c->released = 1;
}

static void forget_if_done(struct child *c) {
  if (c->exited && c->released) c->used = 0;
}

/* Says why the command could not run, on its own stderr, the way a shell does. */
static void report(const char *what, const char *subject, int error) {
  const char *reason = strerror(error);
  const char *parts[] = {what, " `", subject, "`: ", reason, "\n"};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    if (write(STDERR_FILENO, parts[i], strlen(parts[i])) < 0) return;
  }
}

/*
 * In the forked child: never returns. It waits for the spawner's go-ahead, which comes only
 * once the agent holds the process's pipes, so nothing runs that the agent could not account
 * for or whose output it could miss; without it (the spawner died) it leaves without running
 * anything.
 */
static void run_child(int stdio[3], int go, const char *cwd, char **argv, char **envp) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGCHLD, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);
  for (int fd = 0; fd < 3; fd++) {
    if (dup2(stdio[fd], fd) < 0) _exit(127);
  }
  /* Everything else the spawner holds is close-on-exec, apart from its agent socket. */
  close(AGENT_FD);
  char byte;
  ssize_t n;
  do n = read(go, &byte, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1) _exit(127);
  if (chdir(cwd) < 0) {
    report("chdir", cwd, errno);
    _exit(126);
  }
  environ = envp;
  execvp(argv[0], argv);
  int error = errno;
  report("exec", argv[0], error);
  _exit(error == ENOENT || error == ENOTDIR ? 127 : 126);
}

static void spawn(const unsigned char *payload, uint32_t length) {
  if (length < 12) _exit(2);
  uint32_t id = get_u32(payload);
  uint32_t argc = get_u32(payload + 4);
  uint32_t envc = get_u32(payload + 8);
  const char *cursor = (const char *)payload + 12;
  const char *end = (const char *)payload + length;
  uint64_t count = 1 + (uint64_t)argc + envc;
  if (argc == 0 || count > length) _exit(2);
  /* Room for cwd, argv and env, each vector NULL-terminated. */
  char **strings = calloc(count + 2, sizeof(char *));
  if (!strings) {
    send_failed(id, ENOMEM);
    return;
  }
  for (uint64_t i = 0, slot = 0; i < count; i++, slot++) {
    const char *nul = memchr(cursor, 0, (size_t)(end - cursor));
    if (!nul) _exit(2);
    if (i == 1 + argc) slot++; /* leave argv's NULL */
    strings[slot] = (char *)cursor;
    cursor = nul + 1;
  }
  const char *cwd = strings[0];
  char **argv = strings + 1;
  char **envp = strings + 2 + argc;

  struct child *slot = NULL;
  for (int i = 0; i < MAX_CHILDREN && !slot; i++) {
    if (!children[i].used) slot = &children[i];
  }
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, go[2] = {-1, -1};
  int error = EAGAIN;
  pid_t pid = -1;
  if (slot && pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0 && pipe2(go, O_CLOEXEC) == 0) {
    int stdio[3] = {in[0], out[1], err[1]};
    pid = fork();
    if (pid == 0) run_child(stdio, go[0], cwd, argv, envp);
  }
  if (slot && pid < 0) error = errno;
  if (pid < 0) {
    int fds[] = {in[0], in[1], out[0], out[1], err[0], err[1], go[0], go[1]};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
      if (fds[i] >= 0) close(fds[i]);
    }
    send_failed(id, error);
    free(strings);
    return;
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  close(go[0]);
  *slot = (struct child){.used = 1, .id = id, .pid = pid, .fds = {in[1], out[0], err[0]}, .go = go[1]};
  uint32_t fields[5] = {id, (uint32_t)pid, (uint32_t)in[1], (uint32_t)out[0], (uint32_t)err[0]};
  send_frame('S', fields, 5);
  free(strings);
}

static void reap(void) {
  char drain[64];
  while (read(sigchld_pipe[0], drain, sizeof drain) > 0) {
  }
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (int i = 0; i < MAX_CHILDREN; i++) {
      struct child *c = &children[i];
      if (!c->used || c->exited || c->pid != pid) continue;
      c->exited = 1;
      uint32_t fields[2] = {c->id, (uint32_t)status};
      send_frame('E', fields, 2);
      forget_if_done(c);
    }
  }
}

static void handle(char type, const unsigned char *payload, uint32_t length) {
  if (type == 'S') {
    spawn(payload, length);
    return;
  }
  if (length < 4) _exit(2);
  struct child *c = find_child(get_u32(payload));
  if (!c) return;
  if (type == 'R' && !c->released) {
    release(c);
    forget_if_done(c);
  } else if (type == 'K' && length >= 8 && !c->exited) {
    kill(c->pid, (int)get_u32(payload + 4));
  }
}

static void kill_all_and_exit(void) {
  for (int i = 0; i < MAX_CHILDREN; i++) {
    if (children[i].used && !children[i].exited) kill(children[i].pid, SIGKILL);
  }
  _exit(0);
}

int main(void) {
  close(BINARY_FD);
  /* What `ps` in the container shows, instead of the "3" of /proc/self/fd/3. */
  prctl(PR_SET_NAME, "moat-spawner", 0, 0, 0);
  int flags = fcntl(AGENT_FD, F_GETFL);
  if (flags < 0 || fcntl(AGENT_FD, F_SETFL, flags & ~O_NONBLOCK) < 0) return 1;
  if (fcntl(AGENT_FD, F_SETFD, FD_CLOEXEC) < 0) return 1;
  signal(SIGPIPE, SIG_IGN);
  if (pipe2(sigchld_pipe, O_CLOEXEC | O_NONBLOCK) < 0) return 1;
  struct sigaction action = {.sa_handler = on_sigchld, .sa_flags = SA_RESTART | SA_NOCLDSTOP};
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGCHLD, &action, NULL) < 0) return 1;

  uint32_t hello = PROTOCOL_VERSION;
  send_frame('H', &hello, 1);

  size_t capacity = 64 * 1024, filled = 0;
  unsigned char *buffer = malloc(capacity);
  if (!buffer) return 1;
  for (;;) {
    struct pollfd fds[2] = {{.fd = AGENT_FD, .events = POLLIN}, {.fd = sigchld_pipe[0], .events = POLLIN}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[1].revents & POLLIN) reap();
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    /* Never full here: what is left after the frames below is a part of one, and the buffer
       is grown to hold that one whole. */
    ssize_t n = read(AGENT_FD, buffer + filled, capacity - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) kill_all_and_exit();
    filled += (size_t)n;
    size_t used = 0;
    while (filled - used >= 5) {
      uint32_t length = get_u32(buffer + used);
      if (length == 0 || length > MAX_FRAME) _exit(2);
      if (filled - used < 4 + (size_t)length) {
        if (4 + (size_t)length > capacity) {
          unsigned char *grown = realloc(buffer, 4 + (size_t)length);
          if (!grown) kill_all_and_exit();
          buffer = grown;
          capacity = 4 + (size_t)length;
        }
        break;
      }
      handle((char)buffer[used + 4], buffer + used + 5, length - 1);
      used += 4 + (size_t)length;
    }
    memmove(buffer, buffer + used, filled - used);
    filled -= used;
  }
}
