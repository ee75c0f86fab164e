"""The files of the real-socket TFTP server: open a download without blocking, stage an upload
and commit it before its final ACK, check permissions like a careful daemon, and turn every
``OSError`` into the TFTP error to send.

Downloads
    ``open(O_RDONLY | O_NONBLOCK | O_NOFOLLOW)``, then ``fstat``: only a regular file is read, so
    a FIFO (whose plain ``open`` would block the whole server until a writer comes) or a device
    is refused at once with ERROR 2.

Uploads
    The data goes to a temporary file in the target's directory. :meth:`Upload.commit` runs
    when the final DATA has arrived and *before* its ACK is sent: flush, ``fsync`` (optional),
    then

    * a new file gets mode ``0666 & ~umask`` and is ``link``-ed into place: atomic, and it fails
      if the name appeared meanwhile (ERROR 6), so nothing is clobbered;
    * an existing file (``allow_overwrite``) is rewritten *in place* from the temporary file, so
      its inode, mode, owner and hard links stay what they were. A transfer that fails before
      the commit leaves it untouched; only a failure during the copy itself (a disk that fills
      as the file grows) leaves it partly rewritten, and the client is told so with ERROR 3.

    Either way the directory must be writable by the serving user (the temporary file lives
    there), as the kernel would require of that user.

Permissions
    The mode bits are applied as the kernel applies them to an unprivileged user, for the
    *serving* identity: the owner bits if it owns the file, else the group bits if it is in the
    file's group, else the other bits. Root gets no override, so a server running as root still
    refuses to overwrite a 0444 file or to serve a 0600 file that belongs to someone else.
    ACLs are not consulted.

Errors (:func:`error_for`)
    ENOSPC, EDQUOT, EFBIG -> 3 (disk full); EACCES, EPERM, EROFS, ELOOP, EISDIR, ETXTBSY -> 2
    (access violation); anything else -> 0 with the system's reason (``File name too long``).
    A missing file at open time is 1.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import os
import stat
import tempfile
from typing import BinaryIO

from netsim.apps.tftp.paths import Refused
from netsim.wire import tftp

__all__ = ["Identity", "Upload", "error_for", "open_for_read", "permitted", "READ", "WRITE",
           "TMP_PREFIX", "TMP_SUFFIX"]

FILE_BUFFER = 1 << 18      # read-ahead for files being served: one read() per ~500 blocks
WRITE_BUFFER = 1 << 16     # uploads: one write() per 128 blocks of 512 bytes
COPY_CHUNK = 1 << 20
TMP_PREFIX, TMP_SUFFIX = ".tftp-", ".part"

# (owner, group, other) bits for one kind of access.
READ = (stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)
WRITE = (stat.S_IWUSR, stat.S_IWGRP, stat.S_IWOTH)
_SEARCH_WRITE = (stat.S_IWUSR | stat.S_IXUSR, stat.S_IWGRP | stat.S_IXGRP,
                 stat.S_IWOTH | stat.S_IXOTH)

_CODES = {
    errno.ENOSPC: tftp.ERR_DISK_FULL, errno.EDQUOT: tftp.ERR_DISK_FULL,
    errno.EFBIG: tftp.ERR_DISK_FULL,
    errno.EACCES: tftp.ERR_ACCESS, errno.EPERM: tftp.ERR_ACCESS, errno.EROFS: tftp.ERR_ACCESS,
    errno.ELOOP: tftp.ERR_ACCESS, errno.EISDIR: tftp.ERR_ACCESS, errno.ETXTBSY: tftp.ERR_ACCESS,
}
# link() fails this way where the file system has no hard links (vfat, some FUSE): rename then.
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK}


def error_for(exc: OSError) -> tuple[int, str]:
    """Return the TFTP (code, message) that reports ``exc`` to the client (see the module doc)."""
    code = _CODES.get(exc.errno, tftp.ERR_UNDEFINED) if exc.errno is not None \
        else tftp.ERR_UNDEFINED
    return code, exc.strerror or str(exc) or type(exc).__name__


class Identity:
    """Who the server acts as: effective uid and every group id (read when asked, so after a
    privilege drop it is the new user)."""

    __slots__ = ("uid", "gids")

    def __init__(self, uid: int, gids: frozenset[int]):
        self.uid, self.gids = uid, gids

    @classmethod
    def current(cls) -> Identity:
        """The identity of this process now."""
        return cls(os.geteuid(), frozenset((os.getegid(), *os.getgroups())))


def permitted(st: os.stat_result, who: Identity, bits: tuple[int, int, int]) -> bool:
    """True if the mode bits of ``st`` grant ``who`` the access ``bits`` (``READ``, ``WRITE``)
    the way the kernel checks an unprivileged user: owner bits, else group, else other."""
    if st.st_uid == who.uid:
        want = bits[0]
    elif st.st_gid in who.gids:
        want = bits[1]
    else:
        want = bits[2]
    return st.st_mode & want == want


def _refuse_temporary(path: str) -> None:
    base = os.path.basename(path)
    if base.startswith(TMP_PREFIX) and base.endswith(TMP_SUFFIX):
        raise Refused(tftp.ERR_ACCESS, "name reserved for the server's unfinished uploads")


def _refused(exc: OSError) -> Refused:
    if exc.errno == errno.ENOENT:
        return Refused(tftp.ERR_NOT_FOUND, "File not found")
    return Refused(*error_for(exc))


def open_for_read(path: str, who: Identity) -> tuple[BinaryIO, int]:
    """Open ``path`` to be served, never blocking (module doc).

    Returns:
        (the file, its size).

    Raises:
        Refused: ERROR 1 (missing), 2 (not a regular file, not readable by ``who``), or the
            code :func:`error_for` gives.
    """
    _refuse_temporary(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY
                     | os.O_CLOEXEC)
    except OSError as exc:
        raise _refused(exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(tftp.ERR_ACCESS, "not a regular file")
        if not permitted(st, who, READ):
            raise Refused(tftp.ERR_ACCESS, "file is not readable by the server's user")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb", buffering=FILE_BUFFER), st.st_size
    except OSError as exc:
        os.close(fd)
        raise _refused(exc) from None
    except BaseException:
        os.close(fd)
        raise


class Upload:
    """One upload on its way in: ``file`` takes the data, :meth:`commit` puts it in place,
    :meth:`discard` removes what is left. Build it with :meth:`begin`.

    ``keys`` name what the upload will change (its path, and the inode of a file it
    overwrites), so a server can refuse a second upload of the same file while one runs.
    """

    __slots__ = ("path", "tmp", "file", "target_fd", "fsync", "mode", "keys", "committed")

    def __init__(self, path: str, tmp: str, file: BinaryIO, target_fd: int | None, fsync: bool,
                 mode: int, keys: tuple):
        self.path, self.tmp, self.file, self.target_fd = path, tmp, file, target_fd
        self.fsync, self.mode, self.keys, self.committed = fsync, mode, keys, False

    @classmethod
    def begin(cls, path: str, who: Identity, *, allow_overwrite: bool, fsync: bool,
              umask: int) -> Upload:
        """Check that ``who`` may create or overwrite ``path``, and open the temporary file.

        Raises:
            Refused: ERROR 6 (exists, no overwrite), 2 (not a regular file, not writable),
                1 (no such directory), or the code :func:`error_for` gives (a name that is too
                long is refused here, before any data is accepted).
        """
        _refuse_temporary(path)
        try:
            st: os.stat_result | None = os.lstat(path)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise _refused(exc) from None
        target_fd = None
        if st is not None:
            if not stat.S_ISREG(st.st_mode):
                raise Refused(tftp.ERR_ACCESS, "not a regular file")
            if not allow_overwrite:
                raise Refused(tftp.ERR_EXISTS, "File already exists")
        cls._check_directory(os.path.dirname(path), who)
        if st is not None:
            target_fd = cls._open_target(path, st, who)
            keys: tuple = (path, (st.st_dev, st.st_ino))
        else:
            keys = (path,)
        try:
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=TMP_PREFIX,
                                       suffix=TMP_SUFFIX)
        except OSError as exc:
            if target_fd is not None:
                os.close(target_fd)
            raise _refused(exc) from None
        f = io.BufferedWriter(io.FileIO(fd, "wb"), buffer_size=WRITE_BUFFER)
        return cls(path, tmp, f, target_fd, fsync, 0o666 & ~umask, keys)

    @staticmethod
    def _open_target(path: str, st: os.stat_result, who: Identity) -> int:
        if not permitted(st, who, WRITE):
            raise Refused(tftp.ERR_ACCESS, "file is not writable by the server's user")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY
                         | os.O_CLOEXEC)
        except OSError as exc:
            raise _refused(exc) from None
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(now.st_mode):
            os.close(fd)            # replaced between lstat and open: do not guess
            raise Refused(tftp.ERR_ACCESS, "file changed while being opened")
        return fd

    @staticmethod
    def _check_directory(parent: str, who: Identity) -> None:
        try:
            pst = os.stat(parent)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                raise Refused(tftp.ERR_NOT_FOUND, "directory does not exist") from None
            raise _refused(exc) from None
        if not stat.S_ISDIR(pst.st_mode):
            raise Refused(tftp.ERR_NOT_FOUND, "directory does not exist")
        if not permitted(pst, who, _SEARCH_WRITE):
            raise Refused(tftp.ERR_ACCESS, "directory is not writable by the server's user")

    def commit(self) -> None:
        """Put the upload in place (module doc). Call once, when all data has arrived.

        Raises:
            OSError: the data could not be written, synced or put in place.
            Refused: ERROR 6 when a file of that name appeared during the upload.
        """
        f = self.file
        f.flush()
        if self.target_fd is None:
            fd = f.fileno()
            os.fchmod(fd, self.mode)           # mkstemp created it 0600
            if self.fsync:
                os.fsync(fd)
            f.close()
            self._link_into_place()
            if self.fsync:
                self._sync_directory()
        else:
            self._copy_in_place()
            f.close()
            os.unlink(self.tmp)
        self.tmp = None
        self.committed = True

    def _link_into_place(self) -> None:
        try:
            os.link(self.tmp, self.path)
        except FileExistsError:
            raise Refused(tftp.ERR_EXISTS, "File already exists (created during the upload)") \
                from None
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            if os.path.lexists(self.path):
                raise Refused(tftp.ERR_EXISTS, "File already exists (created during the upload)") \
                    from None
            os.rename(self.tmp, self.path)
            return
        # The upload is in place; a temporary name that cannot be removed is only clutter.
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)

    def _copy_in_place(self) -> None:
        src, dst = self.file.fileno(), self.target_fd
        assert dst is not None
        # Overwrite first, truncate last: the blocks the old content holds are reused, so a
        # nearly full disk still takes an upload no larger than the file it replaces.
        offset = 0
        while chunk := os.pread(src, COPY_CHUNK, offset):
            view = memoryview(chunk)
            while view:
                n = os.pwrite(dst, view, offset)
                view, offset = view[n:], offset + n
        os.ftruncate(dst, offset)
        if self.fsync:
            os.fsync(dst)
        os.close(dst)
        self.target_fd = None

    def _sync_directory(self) -> None:
        fd = os.open(os.path.dirname(self.path), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def discard(self) -> str | None:
        """Close everything and remove the temporary file (never raises).

        Returns:
            None, or why the temporary file could not be removed (for the log).
        """
        with contextlib.suppress(OSError):
            self.file.close()
        if self.target_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.target_fd)
            self.target_fd = None
        tmp, self.tmp = self.tmp, None
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            except OSError as exc:
                return f"cannot remove {tmp}: {exc.strerror}"
        return None
