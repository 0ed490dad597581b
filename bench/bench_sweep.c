#define _DEFAULT_SOURCE
/* Row 5: the power-loss sweep's speed, interrupted runs per second per core, against the
 * target itself (1000 runs/s/core; no peer publishes a figure: MCUboot's simulator and
 * littlefs's power-loss tests report none). Runs `otakit-sweep --ci` (every scenario cut at
 * every flash operation, every fault kind, the double faults and the random chains) with
 * its worker processes, and divides its runs by the CPU time they took (user + system of
 * the workers): runs per core-second, which a shared machine's load does not distort.
 * The wall-clock rate the sweep prints is in the note. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"

#define JOBS "2"
#define TARGET 1000.0

extern char **environ;

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_sweep: %s: %s\n", what, why);
    exit(1);
}

static double cpu_s(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
           (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

int main(void)
{
    char sweep[4096];
    bench_tool_path("otakit-sweep", sweep, sizeof sweep);
    int fds[2];
    if (pipe(fds) != 0) {
        die("pipe", strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char *argv[] = {sweep, "--ci", "--jobs", JOBS, NULL};
    struct rusage before, after;
    getrusage(RUSAGE_CHILDREN, &before);
    double t0 = bench_now();
    pid_t pid;
    int err = posix_spawn(&pid, sweep, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (err != 0) {
        die(sweep, strerror(err));
    }
    /* The summary is the line starting "sweep: "; the rest (a table) is not needed. */
    static char out[1 << 16];
    size_t got = 0;
    ssize_t n;
    while ((n = read(fds[0], out + got, sizeof out - 1 - got)) > 0) {
        got += (size_t)n;
        if (got == sizeof out - 1) {
            memmove(out, out + got / 2, got - got / 2); /* keep the tail */
            got -= got / 2;
        }
    }
    out[got] = '\0';
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    double wall = bench_now() - t0;
    getrusage(RUSAGE_CHILDREN, &after);
    const char *line = strstr(out, "sweep: ");
    unsigned long long runs = 0, failures = 0;
    double rate = 0;
    if (line == NULL || sscanf(line, "sweep: %llu interrupted runs, %llu failures, %lf runs/s",
                               &runs, &failures, &rate) != 3) {
        die(sweep, "no summary line");
    }
    double cpu = cpu_s(&after) - cpu_s(&before);
    double per_core = (double)runs / cpu;
    char note[240];
    snprintf(note, sizeof note, "otakit-sweep --ci --jobs %s: %llu interrupted runs, %llu "
             "failures, %.1f CPU-s in %.1f s wall (its own figure %.0f runs/s on %s workers)",
             JOBS, runs, failures, cpu, wall, rate, JOBS);
    if (failures != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        per_core = 0; /* a sweep that fails is not a speed */
    }
    bench_row("power-loss sweep, interrupted runs per core-second", "runs/s", per_core, TARGET,
              per_core / TARGET, 1.0, note);
    return 0;
}
