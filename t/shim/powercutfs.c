/* ISC license: see LICENSE. */

/*
 * powercutfs: a filesystem for tests that forgets, on command, whatever
 * was not made durable, as a power cut does (issue 24).
 *
 *   powercutfs [-t] [-s SEED] STATE MOUNTPOINT
 *
 * It serves STATE/root at MOUNTPOINT (a passthrough, as root, with
 * allow_other and default_permissions: the kernel checks permissions and
 * files are given to the caller's uid and gid). STATE/attic holds hard
 * links to inodes whose durable name was removed. SIGUSR1 is the power
 * cut: the filesystem is unmounted, STATE/root is rewound to its durable
 * state, and the program exits 0. SIGTERM (or fusermount3 -u) is a clean
 * shutdown: everything counts as durable. A new mount starts with
 * everything durable. The kernel's caches die with the mount, so a reader
 * after the cut sees only the rewound state: a cut is a reboot.
 *
 * The model (what a program may rely on after fsync, and no more):
 *
 *  1. File data. Every write, truncation or fallocate of an inode since
 *     its last fsync or fdatasync is lost: the inode's size and bytes go
 *     back to what they were at that fsync (or at the mount). With -t
 *     (torn), a prefix of the new data survives instead: the first k
 *     pages (4096 octets) of the new content, k drawn from SEED, then
 *     the old content beyond them, the size being the larger of the two;
 *     as ext4 with data=ordered may leave a file whose writeback reached
 *     the disk page by page before its size did.
 *  2. fsync of a file makes its data and its inode durable, not its name:
 *     a file is reachable after the cut under a name only if the
 *     directory holding that name was fsynced after the name appeared.
 *  3. Names. Each directory keeps, from the first change of each name
 *     since the directory's last fsync, what the name pointed to then
 *     (nothing, or an inode). fsync of the directory (fsync or fdatasync
 *     of a descriptor open on it) makes its current names durable. The
 *     cut gives every changed name its durable value back: unsynced
 *     creations (open O_CREAT, mknod, mkdir, symlink, link, the target
 *     of a rename) vanish, unsynced unlinks and rmdirs reappear (a
 *     directory empty, its own names rewound as its own fsyncs say).
 *  4. rename(a, b) changes two names, each in its directory: it is
 *     durable when both directories were fsynced. Only the target's
 *     directory fsynced: after the cut the inode has both names (as a
 *     hard link); only the source's: neither name (the inode is lost).
 *     A directory made with mkdir needs its parent fsynced, as any name.
 *  5. Directories are independent: no fsync orders another.
 *
 * This is weaker than ext4 with data=ordered really is. There the
 * journal commits all metadata in order, so that any fsync makes every
 * earlier name change durable, and a rename is atomic; ext4 also flushes
 * the data of a file renamed over another (auto_da_alloc). This model is
 * what POSIX and the Linux fsync(2) page promise ("an explicit fsync() on
 * a file descriptor for the directory is also needed"), the model of
 * Pillai et al., "All File Systems Are Not Created Equal" (OSDI 2014), of
 * the ALICE checker there, and of Jepsen's LazyFS (Mafra et al., 2023),
 * whose cut discards unsynced writes. A program correct here is correct on
 * every Linux filesystem that honours fsync; ext4 can only lose less.
 *
 * Not modelled (passed through, durable at once): modes, owners and times;
 * renames of directories (counted on stderr at the cut); sync(2) and
 * syncfs(2), which FUSE does not forward; extended attributes (none).
 *
 * The backing filesystem is never fsynced: durability is simulated.
 * Single-threaded (fuse -s), so that the model needs no lock.
 */

#define _GNU_SOURCE
#define FUSE_USE_VERSION 31
#include <fuse.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>

#define PAGE 4096

static int rootfd = -1 ;       /* STATE/root */
static int atticfd = -1 ;      /* STATE/attic */
static int torn = 0 ;
static uint64_t rng = 88172645463325252ULL ;
static volatile sig_atomic_t cutting = 0 ;
static struct fuse *fusep = 0 ;
static unsigned long atticseq = 0 ;
static unsigned long dirrenames = 0 ;

static void *xalloc (size_t n)
{
  void *p = malloc(n ? n : 1) ;
  if (!p) { fputs("powercutfs: fatal: out of memory\n", stderr) ; _exit(111) ; }
  return p ;
}

static void *xrealloc (void *p, size_t n)
{
  p = realloc(p, n ? n : 1) ;
  if (!p) { fputs("powercutfs: fatal: out of memory\n", stderr) ; _exit(111) ; }
  return p ;
}

static char *xstrdup (char const *s)
{
  size_t n = strlen(s) + 1 ;
  return memcpy(xalloc(n), s, n) ;
}

static uint64_t rnd (void)
{
  rng ^= rng << 13 ; rng ^= rng >> 7 ; rng ^= rng << 17 ;
  return rng ;
}

/* "/a/b" -> "a/b"; "/" -> "." */
static char const *rel (char const *path)
{
  while (*path == '/') path++ ;
  return *path ? path : "." ;
}

/* ---- rule 1: unsynced data, per inode ---- */

struct dirty
{
  ino_t ino ;
  int fd ;          /* read-write, on the inode: the cut restores through it */
  char *old ;       /* the durable content */
  size_t oldlen ;
} ;
static struct dirty *dirties = 0 ;
static size_t ndirty = 0, adirty = 0 ;

static struct dirty *dirty_find (ino_t ino)
{
  for (size_t i = 0 ; i < ndirty ; i++) if (dirties[i].ino == ino) return dirties + i ;
  return 0 ;
}

/* before the first change of an inode's data since its last fsync: keep
   what it holds, the durable content. fd is any descriptor on it. */
static int dirty_note (int fd)
{
  struct stat st ;
  struct dirty *d ;
  char proc[64] ;
  int rw ;
  if (fstat(fd, &st) < 0) return -errno ;
  if (!S_ISREG(st.st_mode) || dirty_find(st.st_ino)) return 0 ;
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd) ;
  rw = open(proc, O_RDWR | O_CLOEXEC) ;
  if (rw < 0) return -errno ;
  if (ndirty == adirty)
  {
    adirty = adirty ? adirty * 2 : 64 ;
    dirties = xrealloc(dirties, adirty * sizeof *dirties) ;
  }
  d = dirties + ndirty ;
  d->ino = st.st_ino ;
  d->fd = rw ;
  d->oldlen = st.st_size ;
  d->old = xalloc(d->oldlen) ;
  for (size_t got = 0 ; got < d->oldlen ; )
  {
    ssize_t r = pread(rw, d->old + got, d->oldlen - got, got) ;
    if (r <= 0) { int e = r < 0 ? errno : EIO ; close(rw) ; free(d->old) ; return -e ; }
    got += r ;
  }
  ndirty++ ;
  return 0 ;
}

static void dirty_drop (struct dirty *d)
{
  close(d->fd) ;
  free(d->old) ;
  *d = dirties[--ndirty] ;
}

static void dirty_synced (int fd)
{
  struct stat st ;
  struct dirty *d ;
  if (fstat(fd, &st) < 0) return ;
  d = dirty_find(st.st_ino) ;
  if (d) dirty_drop(d) ;
}

static int writeall (int fd, char const *s, size_t n, off_t off)
{
  while (n)
  {
    ssize_t w = pwrite(fd, s, n, off) ;
    if (w <= 0) return -1 ;
    s += w ; n -= w ; off += w ;
  }
  return 0 ;
}

/* the durable content back, or (torn) the new content's first k pages
   over it */
static void dirty_rewind (struct dirty *d)
{
  char *cur = 0 ;
  size_t curlen = 0, keep = 0 ;
  if (torn)
  {
    struct stat st ;
    if (fstat(d->fd, &st) == 0 && st.st_size > 0)
    {
      size_t pages = (st.st_size + PAGE - 1) / PAGE ;
      keep = (rnd() % (pages + 1)) * PAGE ;
      if (keep > (size_t)st.st_size) keep = st.st_size ;
      cur = xalloc(keep) ;
      curlen = keep ;
      for (size_t got = 0 ; got < keep ; )
      {
        ssize_t r = pread(d->fd, cur + got, keep - got, got) ;
        if (r <= 0) { curlen = got ; break ; }
        got += r ;
      }
    }
  }
  if (ftruncate(d->fd, 0) < 0
   || writeall(d->fd, d->old, d->oldlen, 0) < 0
   || (curlen && writeall(d->fd, cur, curlen, 0) < 0))
    perror("powercutfs: warning: unable to rewind a file") ;
  free(cur) ;
}

/* ---- rules 2-5: unsynced names, per directory ---- */

enum was { WAS_NONE, WAS_INODE, WAS_DIR } ;

struct name
{
  char *name ;
  enum was was ;
  char attic[32] ;    /* WAS_INODE: a link to it in STATE/attic */
  ino_t ino ;
  mode_t mode ;       /* WAS_DIR */
  uid_t uid ;
  gid_t gid ;
} ;

struct dir
{
  char *path ;        /* relative to STATE/root */
  struct name *names ;
  size_t n, a ;
} ;
static struct dir *dirs = 0 ;
static size_t ndirs = 0, adirs = 0 ;

/* links in the attic per inode: st_nlink is shown without them */
struct alink { ino_t ino ; unsigned n ; } ;
static struct alink *alinks = 0 ;
static size_t nalinks = 0, aalinks = 0 ;

static struct alink *alink_find (ino_t ino)
{
  for (size_t i = 0 ; i < nalinks ; i++) if (alinks[i].ino == ino) return alinks + i ;
  return 0 ;
}

static void alink_add (ino_t ino, int delta)
{
  struct alink *l = alink_find(ino) ;
  if (!l)
  {
    if (delta < 0) return ;
    if (nalinks == aalinks)
    {
      aalinks = aalinks ? aalinks * 2 : 64 ;
      alinks = xrealloc(alinks, aalinks * sizeof *alinks) ;
    }
    l = alinks + nalinks++ ;
    l->ino = ino ; l->n = 0 ;
  }
  l->n += delta ;
  if (!l->n) *l = alinks[--nalinks] ;
}

static struct dir *dir_get (char const *path, int make)
{
  for (size_t i = 0 ; i < ndirs ; i++) if (!strcmp(dirs[i].path, path)) return dirs + i ;
  if (!make) return 0 ;
  if (ndirs == adirs)
  {
    adirs = adirs ? adirs * 2 : 64 ;
    dirs = xrealloc(dirs, adirs * sizeof *dirs) ;
  }
  dirs[ndirs].path = xstrdup(path) ;
  dirs[ndirs].names = 0 ;
  dirs[ndirs].n = dirs[ndirs].a = 0 ;
  return dirs + ndirs++ ;
}

static void name_free (struct name *nm)
{
  if (nm->was == WAS_INODE)
  {
    unlinkat(atticfd, nm->attic, 0) ;
    alink_add(nm->ino, -1) ;
  }
  free(nm->name) ;
}

/* rule 3: before a name changes, its durable value is kept, once per
   fsync of its directory. path is the name's full relative path. */
static int name_note (char const *path)
{
  char const *slash = strrchr(path, '/') ;
  char *dpath ;
  char const *base ;
  struct dir *d ;
  struct name nm ;
  struct stat st ;
  if (slash) { dpath = strndup(path, slash - path) ; base = slash + 1 ; }
  else { dpath = xstrdup(".") ; base = path ; }
  if (!dpath) return -ENOMEM ;
  d = dir_get(dpath, 1) ;
  free(dpath) ;
  for (size_t i = 0 ; i < d->n ; i++) if (!strcmp(d->names[i].name, base)) return 0 ;
  memset(&nm, 0, sizeof nm) ;
  if (fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
  {
    if (errno != ENOENT) return -errno ;
    nm.was = WAS_NONE ;
  }
  else if (S_ISDIR(st.st_mode))
  {
    nm.was = WAS_DIR ;
    nm.mode = st.st_mode & 07777 ;
    nm.uid = st.st_uid ;
    nm.gid = st.st_gid ;
  }
  else
  {
    nm.was = WAS_INODE ;
    nm.ino = st.st_ino ;
    snprintf(nm.attic, sizeof nm.attic, "%lu", ++atticseq) ;
    if (linkat(rootfd, path, atticfd, nm.attic, 0) < 0) return -errno ;
    alink_add(st.st_ino, 1) ;
  }
  nm.name = xstrdup(base) ;
  if (d->n == d->a)
  {
    d->a = d->a ? d->a * 2 : 16 ;
    d->names = xrealloc(d->names, d->a * sizeof *d->names) ;
  }
  d->names[d->n++] = nm ;
  return 0 ;
}

static void dir_synced (char const *path)
{
  struct dir *d = dir_get(path, 0) ;
  if (!d) return ;
  for (size_t i = 0 ; i < d->n ; i++) name_free(d->names + i) ;
  d->n = 0 ;
}

static void rmtree (int dfd, char const *name)
{
  int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) ;
  if (fd >= 0)
  {
    DIR *dp = fdopendir(fd) ;
    struct dirent *e ;
    if (!dp) { close(fd) ; return ; }
    while ((e = readdir(dp)))
    {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue ;
      if (unlinkat(fd, e->d_name, 0) < 0 && (errno == EISDIR || errno == EPERM)) rmtree(fd, e->d_name) ;
    }
    closedir(dp) ;
  }
  unlinkat(dfd, name, AT_REMOVEDIR) ;
}

static size_t depth (char const *p)
{
  size_t n = 0 ;
  if (!strcmp(p, ".")) return 0 ;
  for (n = 1 ; *p ; p++) n += *p == '/' ;
  return n ;
}

static int bydepth (void const *a, void const *b)
{
  size_t x = depth(((struct dir const *)a)->path), y = depth(((struct dir const *)b)->path) ;
  return x < y ? -1 : x > y ;
}

/* the cut: data first (through the kept descriptors, whatever the names
   become), then names, parents before children, so that a directory
   that reappears is there before its own names are rewound */
static void cut (void)
{
  unsigned long files = ndirty, names = 0 ;
  for (size_t i = 0 ; i < ndirty ; i++)
  {
    dirty_rewind(dirties + i) ;
    close(dirties[i].fd) ;
    free(dirties[i].old) ;
  }
  ndirty = 0 ;
  qsort(dirs, ndirs, sizeof *dirs, &bydepth) ;
  for (size_t i = 0 ; i < ndirs ; i++)
  {
    struct dir *d = dirs + i ;
    int dfd = strcmp(d->path, ".") ? openat(rootfd, d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : dup(rootfd) ;
    for (size_t j = 0 ; j < d->n ; j++)
    {
      struct name *nm = d->names + j ;
      names++ ;
      if (dfd < 0) continue ;   /* the directory itself did not survive */
      if (unlinkat(dfd, nm->name, 0) < 0 && (errno == EISDIR || errno == EPERM)) rmtree(dfd, nm->name) ;
      if (nm->was == WAS_INODE)
      {
        if (linkat(atticfd, nm->attic, dfd, nm->name, 0) < 0) perror("powercutfs: warning: unable to restore a name") ;
      }
      else if (nm->was == WAS_DIR)
      {
        if (mkdirat(dfd, nm->name, nm->mode) < 0
         || fchownat(dfd, nm->name, nm->uid, nm->gid, AT_SYMLINK_NOFOLLOW) < 0
         || fchmodat(dfd, nm->name, nm->mode, 0) < 0)
          perror("powercutfs: warning: unable to restore a directory") ;
      }
    }
    if (dfd >= 0) close(dfd) ;
  }
  for (size_t i = 0 ; i < ndirs ; i++) dir_synced(dirs[i].path) ;
  fprintf(stderr, "powercutfs: cut: %lu files rewound, %lu names rewound, %lu directory renames not modelled\n", files, names, dirrenames) ;
}

/* ---- the passthrough ---- */

static void give (char const *path)
{
  struct fuse_context *c = fuse_get_context() ;
  fchownat(rootfd, rel(path), c->uid, c->gid, AT_SYMLINK_NOFOLLOW) ;
}

static int pc_getattr (char const *path, struct stat *st, struct fuse_file_info *fi)
{
  int r = fi ? fstat(fi->fh, st) : fstatat(rootfd, rel(path), st, AT_SYMLINK_NOFOLLOW) ;
  if (r < 0) return -errno ;
  if (nalinks && !S_ISDIR(st->st_mode))
  {
    struct alink *l = alink_find(st->st_ino) ;
    if (l && st->st_nlink > l->n) st->st_nlink -= l->n ;
  }
  return 0 ;
}

static int pc_readlink (char const *path, char *buf, size_t n)
{
  ssize_t r = readlinkat(rootfd, rel(path), buf, n - 1) ;
  if (r < 0) return -errno ;
  buf[r] = 0 ;
  return 0 ;
}

static int pc_mknod (char const *path, mode_t mode, dev_t dev)
{
  int r = name_note(rel(path)) ;
  if (r) return r ;
  if (mknodat(rootfd, rel(path), mode, dev) < 0) return -errno ;
  give(path) ;
  return 0 ;
}

static int pc_mkdir (char const *path, mode_t mode)
{
  int r = name_note(rel(path)) ;
  if (r) return r ;
  if (mkdirat(rootfd, rel(path), mode) < 0) return -errno ;
  give(path) ;
  return 0 ;
}

static int pc_unlink (char const *path)
{
  int r = name_note(rel(path)) ;
  if (r) return r ;
  return unlinkat(rootfd, rel(path), 0) < 0 ? -errno : 0 ;
}

static int pc_rmdir (char const *path)
{
  int r = name_note(rel(path)) ;
  if (r) return r ;
  return unlinkat(rootfd, rel(path), AT_REMOVEDIR) < 0 ? -errno : 0 ;
}

static int pc_symlink (char const *target, char const *path)
{
  int r = name_note(rel(path)) ;
  if (r) return r ;
  if (symlinkat(target, rootfd, rel(path)) < 0) return -errno ;
  give(path) ;
  return 0 ;
}

static int pc_rename (char const *from, char const *to, unsigned int flags)
{
  struct stat st ;
  int r ;
  if (fstatat(rootfd, rel(from), &st, AT_SYMLINK_NOFOLLOW) < 0) return -errno ;
  if (S_ISDIR(st.st_mode)) dirrenames++ ;
  else
  {
    /* rule 4: two names, each rewound on its own */
    r = name_note(rel(from)) ;
    if (!r) r = name_note(rel(to)) ;
    if (r) return r ;
  }
  return renameat2(rootfd, rel(from), rootfd, rel(to), flags) < 0 ? -errno : 0 ;
}

static int pc_link (char const *from, char const *to)
{
  int r = name_note(rel(to)) ;
  if (r) return r ;
  return linkat(rootfd, rel(from), rootfd, rel(to), 0) < 0 ? -errno : 0 ;
}

static int pc_chmod (char const *path, mode_t mode, struct fuse_file_info *fi)
{
  int r = fi ? fchmod(fi->fh, mode) : fchmodat(rootfd, rel(path), mode, 0) ;
  return r < 0 ? -errno : 0 ;
}

static int pc_chown (char const *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
  int r = fi ? fchown(fi->fh, uid, gid) : fchownat(rootfd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW) ;
  return r < 0 ? -errno : 0 ;
}

static int pc_truncate (char const *path, off_t size, struct fuse_file_info *fi)
{
  int fd = fi ? (int)fi->fh : openat(rootfd, rel(path), O_WRONLY | O_CLOEXEC) ;
  int r ;
  if (fd < 0) return -errno ;
  r = dirty_note(fd) ;
  if (!r && ftruncate(fd, size) < 0) r = -errno ;
  if (!fi) close(fd) ;
  return r ;
}

static int pc_utimens (char const *path, struct timespec const ts[2], struct fuse_file_info *fi)
{
  int r = fi ? futimens(fi->fh, ts) : utimensat(rootfd, rel(path), ts, AT_SYMLINK_NOFOLLOW) ;
  return r < 0 ? -errno : 0 ;
}

static int pc_open (char const *path, struct fuse_file_info *fi)
{
  int fd = openat(rootfd, rel(path), (fi->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW)) | O_CLOEXEC) ;
  if (fd < 0) return -errno ;
  if (fi->flags & O_TRUNC)
  {
    int r = dirty_note(fd) ;
    if (!r && ftruncate(fd, 0) < 0) r = -errno ;
    if (r) { close(fd) ; return r ; }
  }
  fi->fh = fd ;
  return 0 ;
}

static int pc_create (char const *path, mode_t mode, struct fuse_file_info *fi)
{
  int r = name_note(rel(path)) ;
  int fd ;
  if (r) return r ;
  fd = openat(rootfd, rel(path), fi->flags | O_CREAT | O_CLOEXEC, mode) ;
  if (fd < 0) return -errno ;
  give(path) ;
  fi->fh = fd ;
  return 0 ;
}

static int pc_read (char const *path, char *buf, size_t n, off_t off, struct fuse_file_info *fi)
{
  ssize_t r = pread(fi->fh, buf, n, off) ;
  return r < 0 ? -errno : (int)r ;
}

static int pc_write (char const *path, char const *buf, size_t n, off_t off, struct fuse_file_info *fi)
{
  ssize_t w ;
  int r = dirty_note(fi->fh) ;
  if (r) return r ;
  w = (fi->flags & O_APPEND) ? write(fi->fh, buf, n) : pwrite(fi->fh, buf, n, off) ;
  return w < 0 ? -errno : (int)w ;
}

static int pc_fallocate (char const *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
  int r = dirty_note(fi->fh) ;
  if (r) return r ;
  return fallocate(fi->fh, mode, off, len) < 0 ? -errno : 0 ;
}

static int pc_statfs (char const *path, struct statvfs *sv)
{
  return fstatvfs(rootfd, sv) < 0 ? -errno : 0 ;
}

static int pc_release (char const *path, struct fuse_file_info *fi)
{
  close(fi->fh) ;
  return 0 ;
}

static int pc_fsync (char const *path, int datasync, struct fuse_file_info *fi)
{
  dirty_synced(fi->fh) ;
  return 0 ;
}

static int pc_opendir (char const *path, struct fuse_file_info *fi)
{
  int fd = openat(rootfd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (fd < 0) return -errno ;
  fi->fh = fd ;
  return 0 ;
}

static int pc_readdir (char const *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
  int fd = dup(fi->fh) ;
  DIR *dp ;
  struct dirent *e ;
  if (fd < 0) return -errno ;
  dp = fdopendir(fd) ;
  if (!dp) { close(fd) ; return -errno ; }
  rewinddir(dp) ;
  while ((e = readdir(dp)))
  {
    struct stat st ;
    memset(&st, 0, sizeof st) ;
    st.st_ino = e->d_ino ;
    st.st_mode = (mode_t)e->d_type << 12 ;
    if (fill(buf, e->d_name, &st, 0, 0)) break ;
  }
  closedir(dp) ;
  return 0 ;
}

static int pc_releasedir (char const *path, struct fuse_file_info *fi)
{
  close(fi->fh) ;
  return 0 ;
}

static int pc_fsyncdir (char const *path, int datasync, struct fuse_file_info *fi)
{
  dir_synced(rel(path)) ;
  return 0 ;
}

static int pc_access (char const *path, int mode)
{
  return faccessat(rootfd, rel(path), mode, AT_EACCESS) < 0 ? -errno : 0 ;
}

static void *pc_init (struct fuse_conn_info *conn, struct fuse_config *cfg)
{
  cfg->use_ino = 1 ;
  /* the shim is the only writer of the backing tree while mounted */
  cfg->kernel_cache = 0 ;
  cfg->nullpath_ok = 0 ;
  /* an unlinked file still open is unlinked, not renamed to .fuse_hidden:
     each open file has its own descriptor, and a hidden name would
     outlive a cut (nobody releases it) as a foreign file */
  cfg->hard_remove = 1 ;
  fusep = fuse_get_context()->fuse ;
  return 0 ;
}

static struct fuse_operations const ops =
{
  .getattr = pc_getattr,
  .readlink = pc_readlink,
  .mknod = pc_mknod,
  .mkdir = pc_mkdir,
  .unlink = pc_unlink,
  .rmdir = pc_rmdir,
  .symlink = pc_symlink,
  .rename = pc_rename,
  .link = pc_link,
  .chmod = pc_chmod,
  .chown = pc_chown,
  .truncate = pc_truncate,
  .open = pc_open,
  .read = pc_read,
  .write = pc_write,
  .statfs = pc_statfs,
  .release = pc_release,
  .fsync = pc_fsync,
  .opendir = pc_opendir,
  .readdir = pc_readdir,
  .releasedir = pc_releasedir,
  .fsyncdir = pc_fsyncdir,
  .init = pc_init,
  .access = pc_access,
  .create = pc_create,
  .utimens = pc_utimens,
  .fallocate = pc_fallocate,
} ;

/* SIGUSR1: leave the loop (the read of /dev/fuse is interrupted: no
   SA_RESTART); main does the cut once the filesystem is unmounted */
static void on_usr1 (int sig)
{
  cutting = 1 ;
  if (fusep) fuse_exit(fusep) ;
}

static void usage (void)
{
  fputs("powercutfs: usage: powercutfs [ -t ] [ -s seed ] state mountpoint\n", stderr) ;
  exit(100) ;
}

int main (int argc, char **argv)
{
  struct sigaction sa ;
  struct rlimit rl ;
  char *fargv[8] ;
  int fargc = 0, opt, r ;
  while ((opt = getopt(argc, argv, "ts:")) != -1)
    switch (opt)
    {
      case 't' : torn = 1 ; break ;
      case 's' : rng = strtoull(optarg, 0, 10) * 2654435761ULL + 1 ; break ;
      default : usage() ;
    }
  if (argc - optind != 2) usage() ;
  umask(0) ;
  {
    int sfd = open(argv[optind], O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
    if (sfd < 0) { perror("powercutfs: fatal: unable to open state directory") ; return 111 ; }
    mkdirat(sfd, "root", 0755) ;
    mkdirat(sfd, "attic", 0700) ;
    rmtree(sfd, "attic") ;
    if (mkdirat(sfd, "attic", 0700) < 0) { perror("powercutfs: fatal: unable to make the attic") ; return 111 ; }
    rootfd = openat(sfd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
    atticfd = openat(sfd, "attic", O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
    if (rootfd < 0 || atticfd < 0) { perror("powercutfs: fatal: unable to open the state directory") ; return 111 ; }
    close(sfd) ;
  }
  /* one descriptor per file with unsynced data */
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
  {
    rl.rlim_cur = rl.rlim_max ;
    setrlimit(RLIMIT_NOFILE, &rl) ;
  }
  memset(&sa, 0, sizeof sa) ;
  sa.sa_handler = &on_usr1 ;
  sigemptyset(&sa.sa_mask) ;
  sigaction(SIGUSR1, &sa, 0) ;
  fargv[fargc++] = argv[0] ;
  fargv[fargc++] = argv[optind + 1] ;
  fargv[fargc++] = "-f" ;
  fargv[fargc++] = "-s" ;
  fargv[fargc++] = "-o" ;
  fargv[fargc++] = "allow_other,default_permissions,fsname=powercutfs,subtype=powercut" ;
  fargv[fargc] = 0 ;
  r = fuse_main(fargc, fargv, &ops, 0) ;
  if (cutting) cut() ;
  /* fuse_main says 8 (libfuse 3.14; 7 before) when its loop was ended by
     a signal, SIGTERM or SIGUSR1, as it should be; less is a failure to
     mount */
  return r && r < 7 ? 111 : 0 ;
}
