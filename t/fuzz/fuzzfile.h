/* ISC license: see LICENSE. */

/*
 * For the harnesses whose parser reads files: one temporary directory per
 * process, made at the first use and emptied and removed at exit (libFuzzer
 * ends a timed run with exit()).
 */

#ifndef KETCH_FUZZFILE_H
#define KETCH_FUZZFILE_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <dirent.h>
#include <sys/stat.h>

#define FUZZ_PATH_MAX 256

static char fuzz_dir[FUZZ_PATH_MAX] ;

static void fuzz_cleanup (void)
{
  DIR *d = opendir(fuzz_dir) ;
  struct dirent *e ;
  if (!d) return ;
  while ((e = readdir(d)))
  {
    char fn[FUZZ_PATH_MAX * 2] ;
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue ;
    snprintf(fn, sizeof(fn), "%s/%s", fuzz_dir, e->d_name) ;
    unlink(fn) ;
  }
  closedir(d) ;
  rmdir(fuzz_dir) ;
}

/* the path of name in the directory, into fn (FUZZ_PATH_MAX octets) */
static void fuzz_path (char *fn, char const *name)
{
  if (!fuzz_dir[0])
  {
    char const *t = getenv("TMPDIR") ;
    snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/ketch-fuzz.XXXXXX", t && *t && strlen(t) < 128 ? t : "/tmp") ;
    if (!mkdtemp(fuzz_dir)) abort() ;
    atexit(&fuzz_cleanup) ;
  }
  snprintf(fn, FUZZ_PATH_MAX, "%s/%s", fuzz_dir, name) ;
}

/* the file name in the directory holds these octets, mode 0600; its path in fn */
static void fuzz_write (char *fn, char const *name, void const *data, size_t size)
{
  int fd ;
  fuzz_path(fn, name) ;
  fd = open(fn, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) ;
  if (fd < 0) abort() ;
  if (size && write(fd, data, size) != (ssize_t)size) abort() ;
  close(fd) ;
}

#endif
