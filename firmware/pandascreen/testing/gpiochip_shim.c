/* A Raspberry Pi's GPIO character device for a process on a machine that has none: preloaded
 * (LD_PRELOAD), it lets lgpio and gpiod claim buttons' lines and wait for their edges as on a Pi.
 *
 * Why: what wakes an idle Pi screen includes the thread its pin factory runs for the buttons, and
 * gpiozero's mock pins have no such thread; and the pin factory a screen uses (node/gpiod_pins.py)
 * is tested through the same requests a Pi's kernel answers.  Written from the kernel's GPIO uAPI
 * (<linux/gpio.h>, version 2 of the line ioctls), not from any library.  Built and driven by
 * pandascreen/testing/gpiochip.py, for the tests and the bench's idle section.
 *
 * What it answers, and nothing more:
 *   open("/dev/gpiochip0")      an eventfd stands for the chip;
 *   stat, lstat, realpath       what libgpiod checks before it opens a chip: a character device
 *                               whose /sys/dev/char/<major>:<minor>/subsystem is /sys/bus/gpio;
 *   open(".../linux,revision")  a Pi Zero 2 W's revision (0x902120), for gpiozero's board info;
 *   GPIO_GET_CHIPINFO_IOCTL     54 lines, as a BCM2835 family chip;
 *   GPIO_V2_GET_LINEINFO_IOCTL  a free line named GPIO<n>;
 *   GPIO_V2_GET_LINE_IOCTL      a pipe's read end is the line's fd: poll on it waits as on an
 *                               idle line until a test writes an edge event to the write end;
 *                               values read high (a button with its pull-up, not pressed); as the
 *                               kernel, EBUSY for a line a request holds (until its fd closes),
 *                               EINVAL for an offset past the chip or flags it refuses;
 *   GPIO_V2_LINE_*              values and config on a line fd: accepted (and noted, below).
 * Everything else goes to the C library.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define CHIP_PATH "/dev/gpiochip0"
#define REVISION_PATH "/proc/device-tree/system/linux,revision"
#define CHIP_LINES 54
#define CHIP_MAJOR 254  /* as gpiolib's character devices are numbered on a Pi */
#define CHIP_SUBSYSTEM "/sys/dev/char/254:0/subsystem"
#define MAX_FDS 1024

static unsigned char chip_fd[MAX_FDS];   /* 1: this fd stands for the chip */
static unsigned char line_fd[MAX_FDS];   /* 1: this fd is a claimed line's */
static int line_owner[CHIP_LINES];       /* the fd + 1 of the request holding each line, 0: free */

static int fake_chip(void)
{
    int fd = eventfd(0, EFD_CLOEXEC);
    if (fd >= 0 && fd < MAX_FDS)
        chip_fd[fd] = 1;
    return fd;
}

static int fake_revision(void)
{
    static const unsigned char revision[4] = {0x00, 0x90, 0x21, 0x20};
    int fd = memfd_create("linux,revision", MFD_CLOEXEC);
    if (fd < 0)
        return fd;
    if (write(fd, revision, sizeof revision) != sizeof revision || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        errno = EIO;
        return -1;
    }
    return fd;
}

static int faked(const char *path)
{
    if (path == NULL)
        return -2;
    if (strcmp(path, CHIP_PATH) == 0)
        return fake_chip();
    if (strcmp(path, REVISION_PATH) == 0)
        return fake_revision();
    return -2;
}

/* a mode is passed only with O_CREAT or O_TMPFILE (whose bits include O_DIRECTORY's), as an int */
static mode_t mode_of(int flags, va_list args)
{
    return ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? (mode_t)va_arg(args, int) : 0;
}

/* open, open64, openat and openat64 all end in the C library's openat (or openat64): one path */
typedef int (*openat_fn)(int, const char *, int, ...);

static int open_at(openat_fn *real, const char *real_name, int dirfd, const char *path, int flags, va_list args)
{
    int fd = faked(path);
    if (fd != -2)
        return fd;
    if (*real == NULL)
        *real = (openat_fn)dlsym(RTLD_NEXT, real_name);
    return (*real)(dirfd, path, flags, mode_of(flags, args));
}

static openat_fn real_openat, real_openat64;

#define OPEN_AT(name, params, dirfd, real, real_name)                           \
    int name params                                                              \
    {                                                                            \
        va_list args;                                                            \
        int fd;                                                                  \
        va_start(args, flags);                                                   \
        fd = open_at(&real, real_name, dirfd, path, flags, args);                \
        va_end(args);                                                            \
        return fd;                                                               \
    }

OPEN_AT(open, (const char *path, int flags, ...), AT_FDCWD, real_openat, "openat")
OPEN_AT(open64, (const char *path, int flags, ...), AT_FDCWD, real_openat64, "openat64")
OPEN_AT(openat, (int dir, const char *path, int flags, ...), dir, real_openat, "openat")
OPEN_AT(openat64, (int dir, const char *path, int flags, ...), dir, real_openat64, "openat64")

/* libgpiod checks that a path is a GPIO chip before it opens it: a character device whose
 * /sys/dev/char/<major>:<minor>/subsystem is /sys/bus/gpio.  lstat and stat through glibc's
 * versioned entry points (what a manylinux wheel links) and the plain ones. */
static int fake_stat(const char *path, struct stat *st)
{
    if (path == NULL || strcmp(path, CHIP_PATH) != 0)
        return -2;
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFCHR | 0660;
    st->st_rdev = makedev(CHIP_MAJOR, 0);
    st->st_nlink = 1;
    return 0;
}

#define XSTAT_LIKE(name)                                                         \
    int name(int ver, const char *path, struct stat *st)                         \
    {                                                                            \
        static int (*real)(int, const char *, struct stat *);                   \
        int done = fake_stat(path, st);                                          \
        if (done != -2)                                                          \
            return done;                                                         \
        if (real == NULL)                                                        \
            real = (int (*)(int, const char *, struct stat *))dlsym(RTLD_NEXT, #name); \
        return real(ver, path, st);                                              \
    }

XSTAT_LIKE(__xstat)
XSTAT_LIKE(__lxstat)

#define STAT_LIKE(name)                                                          \
    int name(const char *path, struct stat *st)                                  \
    {                                                                            \
        static int (*real)(const char *, struct stat *);                        \
        int done = fake_stat(path, st);                                          \
        if (done != -2)                                                          \
            return done;                                                         \
        if (real == NULL)                                                        \
            real = (int (*)(const char *, struct stat *))dlsym(RTLD_NEXT, #name); \
        return real(path, st);                                                   \
    }

STAT_LIKE(stat)
STAT_LIKE(lstat)

char *realpath(const char *path, char *resolved)
{
    static char *(*real)(const char *, char *);
    const char *answer = NULL;
    if (path != NULL && strcmp(path, CHIP_PATH) == 0)
        answer = CHIP_PATH;
    else if (path != NULL && strcmp(path, CHIP_SUBSYSTEM) == 0)
        answer = "/sys/bus/gpio";
    if (answer != NULL) {
        if (resolved == NULL)
            return strdup(answer);
        strcpy(resolved, answer);
        return resolved;
    }
    if (real == NULL)
        real = (char *(*)(const char *, char *))dlsym(RTLD_NEXT, "realpath");
    return real(path, resolved);
}

/* What the caller asked the kernel for, and a way in for a test: where $PANDASCREEN_GPIO_SHIM_LINES
 * names a file, each line request adds "request <offset> <fd> <writer fd> <flags> <debounce us>"
 * and each change of a line's config "config <fd> <flags> <debounce us>" (flags in hex, the
 * kernel's GPIO_V2_LINE_FLAG_* bits; a per-line flags attribute wins over the request's).  A test
 * presses a button by writing a struct gpio_v2_line_event to the writer fd. */
static void describe(const struct gpio_v2_line_config *config, unsigned long long *flags, unsigned int *debounce)
{
    unsigned int i;
    *flags = config->flags;
    *debounce = 0;
    for (i = 0; i < config->num_attrs && i < GPIO_V2_LINE_NUM_ATTRS_MAX; i++) {
        if (config->attrs[i].attr.id == GPIO_V2_LINE_ATTR_ID_FLAGS)
            *flags = config->attrs[i].attr.flags;
        else if (config->attrs[i].attr.id == GPIO_V2_LINE_ATTR_ID_DEBOUNCE)
            *debounce = config->attrs[i].attr.debounce_period_us;
    }
}

static void note(const char *format, ...)
{
    static int (*real_open)(const char *, int, ...);
    const char *path = getenv("PANDASCREEN_GPIO_SHIM_LINES");
    va_list args;
    int out;
    if (path == NULL)
        return;
    if (real_open == NULL)
        real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
    out = real_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (out < 0)
        return;
    va_start(args, format);
    vdprintf(out, format, args);
    va_end(args);
    close(out);
}

/* The kernel's checks of a line's flags (gpiolib-cdev's gpio_v2_line_flags_validate): one
 * direction, edges and debounce only on an input, one bias, drive modes only on an output. */
static int flags_valid(unsigned long long flags)
{
    unsigned long long bias = flags & (GPIO_V2_LINE_FLAG_BIAS_PULL_UP | GPIO_V2_LINE_FLAG_BIAS_PULL_DOWN |
                                       GPIO_V2_LINE_FLAG_BIAS_DISABLED);
    int input = (flags & GPIO_V2_LINE_FLAG_INPUT) != 0, output = (flags & GPIO_V2_LINE_FLAG_OUTPUT) != 0;
    if (input && output)
        return 0;
    if ((flags & (GPIO_V2_LINE_FLAG_EDGE_RISING | GPIO_V2_LINE_FLAG_EDGE_FALLING)) && !input)
        return 0;
    if ((flags & (GPIO_V2_LINE_FLAG_OPEN_DRAIN | GPIO_V2_LINE_FLAG_OPEN_SOURCE)) && !output)
        return 0;
    if (bias & (bias - 1))
        return 0;
    if (bias && !input && !output)
        return 0;
    return 1;
}

static int chip_ioctl(unsigned int request, void *arg)
{
    if (request == GPIO_GET_CHIPINFO_IOCTL) {
        struct gpiochip_info *info = arg;
        memset(info, 0, sizeof *info);
        strcpy(info->name, "gpiochip0");
        strcpy(info->label, "pinctrl-bcm2835");
        info->lines = CHIP_LINES;
        return 0;
    }
    if (request == GPIO_V2_GET_LINEINFO_IOCTL) {
        struct gpio_v2_line_info *info = arg;
        unsigned int offset = info->offset;
        if (offset >= CHIP_LINES) {
            errno = EINVAL;
            return -1;
        }
        memset(info, 0, sizeof *info);
        snprintf(info->name, sizeof info->name, "GPIO%u", offset);
        info->offset = offset;
        info->flags = GPIO_V2_LINE_FLAG_INPUT;
        return 0;
    }
    if (request == GPIO_V2_GET_LINE_IOCTL) {
        struct gpio_v2_line_request *req = arg;
        unsigned long long flags;
        unsigned int debounce, i;
        int ends[2];
        if (req->num_lines == 0 || req->num_lines > GPIO_V2_LINES_MAX) {
            errno = EINVAL;
            return -1;
        }
        describe(&req->config, &flags, &debounce);
        if (!flags_valid(flags)) {
            errno = EINVAL;
            return -1;
        }
        for (i = 0; i < req->num_lines; i++) {
            if (req->offsets[i] >= CHIP_LINES) {
                errno = EINVAL;
                return -1;
            }
            if (line_owner[req->offsets[i]]) {
                errno = EBUSY;
                return -1;
            }
        }
        if (pipe2(ends, O_CLOEXEC) != 0)
            return -1;
        if (ends[0] >= MAX_FDS) {
            close(ends[0]);
            close(ends[1]);
            errno = EMFILE;
            return -1;
        }
        line_fd[ends[0]] = 1;
        for (i = 0; i < req->num_lines; i++)
            line_owner[req->offsets[i]] = ends[0] + 1;
        note("request %u %d %d %llx %u\n", req->offsets[0], ends[0], ends[1], flags, debounce);
        req->fd = ends[0];  /* the write end stays open: no edge ever comes, no EOF either */
        return 0;
    }
    errno = ENOTTY;
    return -1;
}

static int line_ioctl(int fd, unsigned int request, void *arg)
{
    if (request == GPIO_V2_LINE_GET_VALUES_IOCTL) {
        struct gpio_v2_line_values *values = arg;
        values->bits = values->mask;  /* every line high */
        return 0;
    }
    if (request == GPIO_V2_LINE_SET_CONFIG_IOCTL) {
        unsigned long long flags;
        unsigned int debounce;
        describe(arg, &flags, &debounce);
        if (!flags_valid(flags)) {
            errno = EINVAL;
            return -1;
        }
        note("config %d %llx %u\n", fd, flags, debounce);
        return 0;
    }
    if (request == GPIO_V2_LINE_SET_VALUES_IOCTL)
        return 0;
    errno = ENOTTY;
    return -1;
}

int ioctl(int fd, unsigned long request, ...)
{
    static int (*real)(int, unsigned long, ...);
    va_list args;
    void *arg;
    va_start(args, request);
    arg = va_arg(args, void *);
    va_end(args);
    /* the kernel reads the request's low 32 bits; a caller that passes an int sign-extends it */
    if (fd >= 0 && fd < MAX_FDS && chip_fd[fd])
        return chip_ioctl((unsigned int)request, arg);
    if (fd >= 0 && fd < MAX_FDS && line_fd[fd])
        return line_ioctl(fd, (unsigned int)request, arg);
    if (real == NULL)
        real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
    return real(fd, request, arg);
}

int close(int fd)
{
    static int (*real)(int);
    if (fd >= 0 && fd < MAX_FDS) {
        int i;
        chip_fd[fd] = 0;
        if (line_fd[fd])
            for (i = 0; i < CHIP_LINES; i++)
                if (line_owner[i] == fd + 1)
                    line_owner[i] = 0;  /* the kernel frees a request's lines when its fd closes */
        line_fd[fd] = 0;
    }
    if (real == NULL)
        real = (int (*)(int))dlsym(RTLD_NEXT, "close");
    return real(fd);
}
