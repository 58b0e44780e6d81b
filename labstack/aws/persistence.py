"""The emulated account survives restarts: moto's state in SQLite, committed before each answer.

DESIGN section 4: state survives ``lab down``/``lab up`` and a crash, until ``lab reset``. moto
keeps everything in memory, so the account is kept as state snapshots (measured against replaying
a request journal, which cannot reproduce moto's random ids or the lab's own direct edits):

- a *unit* is one moto backend, one (service, account, region); each is pickled on its own and
  only when a call may have changed it, so an ``AuthorizeSecurityGroupIngress`` writes the EC2
  backend of its region and nothing else;
- every call waits, before it is answered, for a commit that holds what it did and its CloudTrail
  record (group commit: calls that arrive together share one transaction). A call that has been
  answered is therefore on disk, whatever happens to the process after (SIGKILL included);
- a commit takes the state lock exclusively while it pickles, so it never sees a change half
  made; calls that may change state hold it shared, reads run without it;
- CloudTrail records not yet delivered are rows of the same database. A delivered record's row is
  removed in the commit that also holds the log file in the bucket, so a crash between the two
  delivers it again rather than never;
- moto's random generator is saved with every commit, so ids made after a restart never repeat
  ids made before it;
- an S3 object's bytes are stored once, by content (its SHA-256 and size), in a table of their own:
  a unit holds only the objects' metadata, so a trail bucket of thousands of log files costs a
  CloudTrail delivery one new blob and the bucket's listing, not every file again;
- moto's static data (EC2's default AMIs with their snapshots, IAM's AWS managed policies: most
  of those two backends' bytes) is stored once per unit and process, with the unit's first
  write, and a unit's later pickles name its objects instead of copying them. What a later
  write finds changed in it (identity checks of everything it holds, see ``Static``) is
  pickled whole from then on, so a default AMI or managed policy the lab changed is kept as
  changed. A restore builds the static objects from their stored state, then the unit on top;
- a unit that cannot be pickled (a moto object holding something pickle cannot take) does not
  stop the others: the commit writes them, keeps that unit's last good copy on disk and notes
  why (``StateStore.broken``, reported by the health check). A call that changed it is not
  on disk, so it is refused (see ``StateStore.unsaved``); the unit is tried again by every
  commit that covers it, and is written again once what it held is gone.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import copyreg
import datetime
import decimal
import functools
import hashlib
import io
import json
import logging
import pickle
import sqlite3
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate, chain
from operator import is_
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from moto.core.base_backend import AccountSpecificBackend, BackendDict, BaseBackend
from moto.moto_api._internal import mock_random
from moto.s3.models import FakeKey
from moto.s3.utils import _VersionedKeyStore
from moto.utilities.utils import get_partition

from helpers.runtime.home import private_file

log = logging.getLogger("labstack.aws.persistence")

#: Every unit: a commit that rewrites the whole account (after the build, or a reset).
ALL = "*"
#: Services a change in one of them can change too (S3 notifies SNS, SQS and Lambda...), in
#: every region. A call's commit also covers the backends the call looked up itself (see
#: ``durable.track_lookups``: EC2 making KMS's aws/ebs key for an encrypted volume is one).
EFFECTS = {
    "s3": {"sns", "sqs", "lambda", "events"},
    "sns": {"sqs", "lambda"},
    "events": {"sqs", "sns", "lambda", "logs"},
    "cloudtrail": {"s3"},
    "lambda": {"logs"},
}
#: Synchronisation objects are not state: each is pickled as a new one.
_FRESH = {
    type(threading.Lock()): threading.Lock,
    type(threading.RLock()): threading.RLock,
    threading.Condition: threading.Condition,
    threading.Event: threading.Event,
}

UnitKey = tuple[str, str, str]
_SCHEMA = """
CREATE TABLE IF NOT EXISTS units (service TEXT, account TEXT, region TEXT, blob BLOB NOT NULL,
    refs TEXT NOT NULL, digests TEXT NOT NULL, PRIMARY KEY (service, account, region));
CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY, trail TEXT NOT NULL,
    region TEXT NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS contents (digest TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS statics (service TEXT, account TEXT, region TEXT, blob BLOB NOT NULL,
    PRIMARY KEY (service, account, region));
"""


class StateError(RuntimeError):
    """The kept account cannot be read; the message names the file and the way out."""

    def __init__(self, path: Path, cause: BaseException):
        super().__init__(
            f"the AWS account kept in {path} cannot be read ({type(cause).__name__}: {cause}); "
            "`lab reset` starts a fresh one"
        )


class StateLock:
    """Many holders of the shared side at once (calls that change state), or one of the
    exclusive side (a commit pickling). Writers are preferred, so commits never starve."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting = 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive and not self._waiting)
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            self._cond.wait_for(lambda: not self._exclusive and not self._shared)
            self._waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


def units() -> dict[UnitKey, BaseBackend]:
    """Every moto backend that exists now, by (service, account, region)."""
    found = {}
    for backends in list(BackendDict._instances):
        for account_id, account in list(backends.items()):
            for region, backend in list(account.items()):
                found[(backends.service_name, account_id, region)] = backend
    return found


#: What every BackendDict has; anything else one holds is service state kept beside the
#: backends (S3's bucket_accounts: the global bucket namespace; Organizations' master_accounts).
_REGISTRY_PLAIN = {"backend", "service_name", "_use_boto3_regions", "_additional_regions", "_id"}


def registries() -> dict[str, dict]:
    """The state moto keeps on its BackendDicts rather than in a backend, by service."""
    found = {}
    for backends in list(BackendDict._instances):
        extra = {k: v for k, v in vars(backends).items() if k not in _REGISTRY_PLAIN}
        if extra:
            found[backends.service_name] = {k: _copied(v) for k, v in extra.items()}
    return found


def _copied(value):
    return dict(value) if isinstance(value, dict) else value


def last_used() -> dict[tuple, object]:
    """When each IAM access key and role was last used. moto notes it on IAM at every call of
    any service (reads included), which commits no IAM unit: every commit keeps it aside."""
    found: dict[tuple, object] = {}
    for key, backend in units().items():
        if key[0] != "iam":
            continue
        for key_id, access_key in list(backend.access_keys.items()):
            if access_key.last_used is not None:
                found[(*key, "key", key_id)] = access_key.last_used
        for role_id, role in list(backend.roles.items()):
            if role.last_used is not None:
                found[(*key, "role", role_id)] = role.last_used
    return found


def _put_back_last_used(found: dict[tuple, object], restored: set[UnitKey]) -> None:
    for (service, account_id, region, kind, name), when in found.items():
        if (service, account_id, region) not in restored:
            continue
        backend = _unit(service, account_id, region)
        held = backend.access_keys if kind == "key" else backend.roles
        if name in held:
            held[name].last_used = when


def _unit(service: str, account_id: str, region: str) -> BaseBackend:
    from moto.backends import get_backend

    return get_backend(service)[account_id][region]


def _account(service: str, account_id: str) -> AccountSpecificBackend:
    from moto.backends import get_backend

    return get_backend(service)[account_id]


def _service(service: str) -> BackendDict:
    from moto.backends import get_backend

    return get_backend(service)


#: Content lookups while a restore unpickles (digest -> bytes).
_LOADING: contextvars.ContextVar = contextvars.ContextVar("blobs")


#: Where an S3 object keeps the name of its content (see ``_digest``).
_DIGEST_ATTR = "_lab_content_digest"


def _s3_object(cls, state: dict, digest: str | None):
    """An S3 object back from its metadata and its stored bytes (as moto's ``__setstate__``)."""
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    # The object owns its buffer for its life, as moto's own objects do.
    obj._value_buffer = tempfile.SpooledTemporaryFile(max_size=obj._max_buffer_size)  # noqa: SIM115
    obj.value = _LOADING.get()(digest) if digest is not None else b""
    obj.lock = threading.Lock()
    return obj


def _versions(cls, lists: list, state: dict):
    """A bucket's keys back, every version of each (as its ``__reduce__`` cannot: pickle takes
    a dict's items, and this one's items are the latest versions only)."""
    store = cls()
    for name, versions in lists:
        dict.__setitem__(store, name, versions)
    store.__dict__.update(state)
    return store


def _default_dict(factory, items: dict) -> collections.defaultdict:
    return collections.defaultdict(factory, items)


def _plain_factory(factory):
    """``dict`` for ``lambda: {}`` (and list, set): moto's defaultdicts of empty containers
    made by lambdas, which pickle cannot take. None for any other factory."""
    code = getattr(factory, "__code__", None)
    if code is None or factory.__name__ != "<lambda>" or code.co_names or code.co_argcount:
        return None
    sample = factory()  # names nothing: makes an empty literal, nothing else
    return type(sample) if type(sample) in (dict, list, set) and not sample else None


def _weak_values(items: dict) -> weakref.WeakValueDictionary:
    return weakref.WeakValueDictionary(items)


def _weak_keys(items: dict) -> weakref.WeakKeyDictionary:
    return weakref.WeakKeyDictionary(items)


def _private_key(der: bytes):
    return serialization.load_der_private_key(der, password=None)


def _public_key(der: bytes):
    return serialization.load_der_public_key(der)


def _crypto(obj):
    """A cryptography object (KMS key material, certificates) as its DER bytes: they are
    Rust objects that pickle cannot take. None for any other of the package's objects."""
    if hasattr(obj, "private_bytes") and hasattr(obj, "public_key"):
        der = obj.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return _private_key, (der,)
    if isinstance(obj, x509.Certificate):
        return x509.load_der_x509_certificate, (obj.public_bytes(serialization.Encoding.DER),)
    if hasattr(obj, "public_bytes") and hasattr(obj, "verify"):
        der = obj.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return _public_key, (der,)
    return None


class _Pickler(pickle.Pickler):
    """Pickles one unit. Other backends it points at are written as references to them, and
    locks, conditions and events as new ones (what waited on them did not survive anyway).
    ``reducer_override`` is not called for plain strings, numbers, lists and dicts, which are
    most of a backend, so this costs little over plain pickling."""

    def __init__(self, out, root: BaseBackend, keys: dict[int, UnitKey], stored: set[str]):
        super().__init__(out, protocol=5)
        self.root, self.keys, self.refs = root, keys, set()
        self.stored = stored
        self.digests: set[str] = set()
        self.blobs: dict[str, bytes] = {}

    def reducer_override(self, obj):
        kind = type(obj)
        fresh = _FRESH.get(kind)
        if fresh is not None:
            return fresh, ()
        if kind is FakeKey:
            return self._s3_object(obj)
        if kind is collections.defaultdict:
            factory = _plain_factory(obj.default_factory)
            if factory is not None:  # Lambda's aliases: defaultdict(lambda: {})
                return _default_dict, (factory, dict(obj))
        if kind is weakref.WeakValueDictionary:
            # Lambda's index of its functions: the functions are held elsewhere in the unit too
            return _weak_values, (dict(obj.items()),)
        if kind is weakref.WeakKeyDictionary:
            return _weak_keys, (dict(obj.items()),)
        if kind is _VersionedKeyStore:
            lists = [(name, dict.__getitem__(obj, name)) for name in dict.keys(obj)]
            return _versions, (kind, lists, dict(vars(obj)))
        if kind.__module__.startswith("cryptography."):
            reduced = _crypto(obj)
            if reduced is not None:
                return reduced
        if isinstance(obj, BaseBackend) and obj is not self.root:
            key = self.keys.get(id(obj))
            if key is not None:
                self.refs.add(key)
                return _unit, key
        elif isinstance(obj, AccountSpecificBackend):
            return _account, (obj.service_name, obj.account_id)
        elif isinstance(obj, BackendDict):
            return _service, (obj.service_name,)
        return NotImplemented

    def _s3_object(self, obj: FakeKey):
        digest = _digest(obj)
        if digest is not None:
            self.digests.add(digest)
            if digest not in self.stored and digest not in self.blobs:
                self.blobs[digest] = obj.value
        state = {k: v for k, v in obj.__dict__.items() if k not in ("_value_buffer", "lock")}
        return _s3_object, (FakeKey, state, digest)


def _digest(obj: FakeKey) -> str | None:
    """The name of an S3 object's content: its SHA-256 and size (not its ETag, an MD5 that
    anyone can make collide), worked out once per object and kept with it. None for an
    object whose buffer moto closed (the parts of a completed multipart upload)."""
    known = obj.__dict__.get(_DIGEST_ATTR)
    if known is not None and known[0] == obj.contentsize:
        return known[1]
    try:
        value = obj.value
    except ValueError:
        return None
    digest = f"sha256:{hashlib.sha256(value).hexdigest()}:{len(value)}"
    obj.__dict__[_DIGEST_ATTR] = (obj.contentsize, digest)
    return digest


#: Where each service's static data starts: what moto makes when it creates the backend and
#: the lab seldom changes. Everything these objects hold is static data too (``Static``).
STATIC: dict[str, Callable[[BaseBackend], Iterable]] = {
    "ec2": lambda backend: list(backend.amis.values()),  # each with its snapshot and volume
    "iam": lambda backend: list(backend.aws_managed_policies),  # each with its versions
}
#: Values that cannot change: held by identity, they are the same value as long as they are
#: the same object.
_ATOMS = {str, bytes, int, float, complex, bool, type(None), decimal.Decimal}
_ATOMS |= {datetime.datetime, datetime.date, datetime.time, datetime.timedelta}
#: Containers a static object may hold, kept by identity like the objects themselves.
_CONTAINERS = (dict, list, set)
#: What a class defines when pickle must not make its objects from ``__new__`` and ``__dict__``.
_OWN_PICKLING = ("__setstate__", "__getnewargs__", "__getnewargs_ex__")
_HEAP_TYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement


@functools.cache
def _plain(kind: type) -> bool:
    """Whether pickle makes ``kind``'s objects as ``kind.__new__(kind)`` plus their
    ``__dict__``, which is what a restore does for a static object: a class defined in Python
    (pickle writes functions and classes by name, and the built-in types its own way) that
    leaves its pickling to ``object``."""
    return (
        bool(kind.__flags__ & _HEAP_TYPE)
        and not issubclass(kind, (*_CONTAINERS, tuple, frozenset, type, *_FRESH))
        and kind not in copyreg.dispatch_table
        and kind.__reduce_ex__ is object.__reduce_ex__
        and kind.__reduce__ is object.__reduce__
        and kind.__getstate__ is object.__getstate__
        and not any(hasattr(kind, name) for name in _OWN_PICKLING)
        and not any("__slots__" in vars(base) for base in kind.__mro__)
    )


def _reach(start, accepted: dict[int, object], keys: dict[int, UnitKey]) -> dict | None:
    """Every object and container ``start`` holds (itself included) that is not in
    ``accepted`` yet, or None when it holds anything a restore could not build back as the
    same objects (a lock, an S3 object, another backend that is not a unit...)."""
    found: dict[int, object] = {}
    todo = [start]
    while todo:
        value = todo.pop()
        kind = type(value)
        if kind in _ATOMS or id(value) in accepted or id(value) in found:
            continue
        if kind is tuple:
            todo.extend(value)
        elif kind is frozenset:
            if not all(map(_hashed_before_filled, value)):
                return None
            todo.extend(value)
        elif kind is dict:
            if not all(map(_hashed_before_filled, value)):
                return None
            found[id(value)] = value
            todo.extend(value)
            todo.extend(value.values())
        elif kind is list:
            found[id(value)] = value
            todo.extend(value)
        elif kind is set:
            if not all(map(_hashed_before_filled, value)):
                return None
            found[id(value)] = value
            todo.extend(value)
        elif id(value) in keys or isinstance(value, (AccountSpecificBackend, BackendDict)):
            continue  # a unit: pickled as a reference to it
        elif _plain(kind) and hasattr(value, "__dict__") and not isinstance(value, BaseBackend):
            found[id(value)] = value
            todo.extend(value.__dict__.values())
        else:
            return None
    return found


def _hashed_before_filled(key) -> bool:
    """Whether a dict key or set element hashes the same while a restore has made it but not
    filled it yet (static objects are made first, filled after): a value, or an object hashed
    by identity (not a managed policy, hashed by its ARN)."""
    kind = type(key)
    if kind is tuple:
        return all(map(_hashed_before_filled, key))
    return kind in _ATOMS or kind.__hash__ is object.__hash__


def _state(thing):
    """What a static object or container holds, to pickle (a copy for containers: the
    container itself would be written as a reference to it)."""
    kind = type(thing)
    return dict(thing) if kind is dict else list(thing) if kind in _CONTAINERS else vars(thing)


def _fill(thing, state) -> None:
    """Put a static thing's state (``_state``) back into it, replacing what it held."""
    if type(thing) is list:
        thing[:] = state
        return
    held = thing if type(thing) in _CONTAINERS else thing.__dict__
    held.clear()
    held.update(state)


class Static:
    """A unit's static data, as one commit captured it (the unit's first in this process: what
    moto made then and what the lab had changed by then alike). ``things`` are the unit's
    backend (0) and the objects and containers its static data holds; ``blob`` their state
    as stored (None once on disk). A later pickle of the unit writes each thing as a
    reference to it, except the changed ones (``changed``; the backend always is), which are
    written whole. A restore makes every thing first and fills it from the static data, then
    reads the unit, which fills the backend and the changed things: static objects are thus
    whole before the unit hashes any (a managed policy hashes by its ARN).

    A thing is unchanged when everything it holds (an object's ``__dict__``, a container's
    keys, values, items) is still the same object as at the capture: values that cannot
    change (``_ATOMS``) are then the same value, and the things held are watched themselves.
    This is checked at every write by C loops over them all at once (``_held``: EC2's 150 000
    values cost about a third of pickling them); only when it fails are the things checked
    one by one, to find which changed (each is found once: it is pickled whole from then
    on)."""

    def __init__(self, key: UnitKey, root: BaseBackend, keys: dict[int, UnitKey]):
        self.root = root
        accepted: dict[int, object] = {id(root): root}
        for seed in STATIC[key[0]](root):
            found = _reach(seed, accepted, keys)
            if found is not None:
                accepted.update(found)
        self.things = list(accepted.values())
        self.index = {ident: i for i, ident in enumerate(accepted)}
        self.changed = {0}
        out = io.BytesIO()
        pickler = _StaticPickler(out, None, keys, set(), self, whole=set())
        pickler.dump([(type(thing), _state(thing)) for thing in self.things[1:]])
        self.blob: bytes | None = out.getvalue()
        self.refs = pickler.refs
        self._watch()

    def _watch(self) -> None:
        watched = [t for i, t in enumerate(self.things) if i not in self.changed]
        self._objects = [t for t in watched if type(t) not in _CONTAINERS]
        self._dicts = [*map(vars, self._objects), *(t for t in watched if type(t) is dict)]
        self._seqs = [t for t in watched if type(t) is list or type(t) is set]
        self._sizes = self._sizes_now()
        self._held = list(self._held_now())

    def _sizes_now(self) -> list[int]:
        return [*map(len, self._dicts), *map(len, self._seqs)]

    def _held_now(self) -> Iterator:
        """Every watched thing's keys, then their values, then the containers' items."""
        dicts = self._dicts
        return chain(
            chain.from_iterable(dicts),
            chain.from_iterable(map(dict.values, dicts)),
            chain.from_iterable(self._seqs),
        )

    def refresh(self) -> None:
        """Mark the things changed since the capture (under the state lock, before a pickle)."""
        if (
            self._sizes_now() == self._sizes
            and all(map(is_, map(vars, self._objects), self._dicts))
            and all(map(is_, self._held_now(), self._held))
        ):
            return
        starts = list(accumulate(self._sizes, initial=0))
        keys = starts[len(self._dicts)]  # where the values start in ``_held``
        held = self._held
        owners = [*self._objects, *self._dicts[len(self._objects) :], *self._seqs]
        for n, (owner, size) in enumerate(zip(owners, self._sizes, strict=True)):
            start = starts[n]
            if n < len(self._dicts):
                d = self._dicts[n]
                same = (
                    len(d) == size
                    and (n >= len(self._objects) or vars(owner) is d)
                    and all(map(is_, d, held[start : start + size]))
                    and all(map(is_, d.values(), held[keys + start : keys + start + size]))
                )
            else:
                same = len(owner) == size and all(
                    map(is_, owner, held[keys + start : keys + start + size])
                )
            if not same:
                self.changed.add(self.index[id(owner)])
        self._watch()


class _StaticPickler(_Pickler):
    """Pickles a unit that has static data (``Static``): each static thing as a reference (its
    index and type), the ones in ``whole`` whole the first time they are met."""

    def __init__(self, out, root, keys, stored, static: Static, whole: set[int]):
        super().__init__(out, root, keys, stored)
        self.static, self.whole, self.emitted = static, whole, set()

    def persistent_id(self, obj):
        i = self.static.index.get(id(obj))
        if i is None:
            return None
        if i in self.whole and i not in self.emitted:
            self.emitted.add(i)
            return i, type(obj), _state(obj)
        return i, type(obj)


class _Unpickler(pickle.Unpickler):
    """Reads a unit or its static data; ``made`` holds the static things, made at their first
    mention and filled with the state that comes with them (if any)."""

    def __init__(self, blob: bytes, made: dict[int, object]):
        super().__init__(io.BytesIO(blob))
        self.made = made

    def persistent_load(self, pid):
        i, kind, *state = pid
        thing = _made(self.made, i, kind)
        if state:
            _fill(thing, state[0])
        return thing


def _made(made: dict[int, object], i: int, kind: type):
    """Static thing ``i``, made empty (as pickle makes an object) at its first mention."""
    thing = made.get(i)
    if thing is None:
        thing = made[i] = kind() if kind in _CONTAINERS else kind.__new__(kind)
    return thing


@dataclass
class Dumped:
    """One unit pickled: its bytes, the units it points at, the S3 contents it holds (and the
    new ones, not stored yet), the static data it names."""

    blob: bytes
    refs: set[UnitKey]
    digests: set[str]
    blobs: dict[str, bytes]
    static: Static | None = None


def dump_unit(
    backend: BaseBackend,
    keys: dict[int, UnitKey],
    stored: set[str] | None = None,
    static: Static | None = None,
) -> Dumped:
    out = io.BytesIO()
    stored = stored if stored is not None else set()
    if static is None:
        pickler = _Pickler(out, backend, keys, stored)
        pickler.dump(backend)
        return Dumped(out.getvalue(), pickler.refs, pickler.digests, pickler.blobs)
    static.refresh()
    pickler = _StaticPickler(out, backend, keys, stored, static, whole=static.changed)
    # The changed things by name, the backend first: one that only unchanged ones hold (a
    # default AMI's launch permissions) would otherwise not be met.
    pickler.dump([static.things[i] for i in sorted(static.changed)])
    refs = pickler.refs | static.refs
    return Dumped(out.getvalue(), refs, pickler.digests, pickler.blobs, static)


def unit_name(key: UnitKey) -> str:
    """How a unit is named to people: ``sns 123456789012 us-east-1``."""
    return " ".join(key)


def _culprit(backend: BaseBackend, keys: dict[int, UnitKey]) -> str:
    """Where in ``backend`` is what pickle cannot take (``.topics['arn:...'].cursor``), found
    by pickling its parts one at a time, a few levels down; '' when no part fails on its own.
    Only run when a unit has just failed (it pickles the unit's parts again)."""
    path, value = "", backend
    for _ in range(8):
        for name, part in _parts(value):
            try:
                # No root: the backend itself, met again inside a part, is a reference.
                _Pickler(io.BytesIO(), None, keys, set()).dump(part)
            except Exception:
                path, value = path + name, part
                break
        else:
            break
    return path


def _parts(value) -> list[tuple[str, object]]:
    if isinstance(value, dict):
        return [(f"[{k!r}]", v) for k, v in list(value.items())]
    if isinstance(value, (list, tuple)):
        return [(f"[{i}]", v) for i, v in enumerate(value)]
    return [(f".{k}", v) for k, v in list(getattr(value, "__dict__", {}).items())]


def install_unit(key: UnitKey, blob: bytes, content=None, static: bytes | None = None) -> None:
    """Put a stored backend in moto's registry, where the API and the lab find it; ``content``
    gives an S3 object's bytes by digest, ``static`` is the unit's static data (its objects
    are made and filled first; the unit then fills the backend and the changed ones)."""
    from moto.backends import get_backend

    service, account_id, region = key
    backends = get_backend(service)
    account = backends[account_id]  # made (and registered for resets) if missing
    if backends not in BackendDict._instances:
        BackendDict._instances.append(backends)
    token = _LOADING.set(content or _no_content)
    try:
        if static is None:
            backend = pickle.loads(blob)
        else:
            made: dict[int, object] = {}
            states = _Unpickler(static, made).load()
            for i, (kind, state) in enumerate(states, start=1):
                _fill(_made(made, i, kind), state)
            backend = _Unpickler(blob, made).load()[0]
        dict.__setitem__(account, region, backend)
    finally:
        _LOADING.reset(token)


def _no_content(digest: str) -> bytes:
    raise pickle.UnpicklingError(f"no stored content {digest}")


@dataclass
class Restored:
    """What the store held: the number of units installed and the undelivered records."""

    units: int
    records: list[tuple[int, str, str, dict]]
    seq: int


@dataclass
class _Batch:
    services: set[str] = field(default_factory=set)
    added: list[tuple[int, str, str, dict]] = field(default_factory=list)
    #: Record rows to remove, each with the services whose commit holds its delivery.
    dropped: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)


class StateStore:
    """The account's state on disk (SQLite, WAL) and the committer that keeps it current."""

    def __init__(self, path: Path, lock: StateLock | None = None):
        self.path = Path(path)
        private_file(self.path)
        self.lock = lock or StateLock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL with synchronous=NORMAL loses nothing when the process dies (the OS has the
            # pages); only a power cut could lose the last commits.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StateError(self.path, exc) from exc
        self._cond = threading.Condition()
        self._batch = _Batch()
        self._requested = self._committed = 0
        #: The last ticket a commit attempt failed for (its waiters are told at once).
        self._failed = 0
        self._stop = False
        self.error: str | None = None
        #: Digests of the S3 contents on disk (filled by ``restore``; new ones after each commit).
        self._stored: set[str] = set()
        #: The units on disk. One that is not (moto made it for a call, a read included: the
        #: first call in a region makes that region's backend, with random ids) goes in the
        #: next commit, whatever that commit was asked for.
        self._kept: set[UnitKey] = set()
        #: The static data captured for each unit that has some (see ``Static``).
        self._statics: dict[UnitKey, Static] = {}
        #: The units the last commits could not pickle, and why: each keeps its last good copy
        #: on disk and is tried again by the next commit that covers it (``_commit``).
        self.broken: dict[UnitKey, str] = {}
        #: Record rows delivered into a broken unit: removed once it is written (``_commit``).
        self._deferred: list[tuple[int, tuple[str, ...]]] = []
        self.stats = {"commits": 0, "units_written": 0, "last_commit_ms": 0.0}
        self._thread = threading.Thread(target=self._loop, name="state-commit", daemon=True)

    # -- reading back --------------------------------------------------------------------------
    @property
    def built(self) -> bool:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'built'").fetchone()
        return bool(row and row[0])

    def clear(self) -> None:
        """Forget everything (an account whose build never finished is built again)."""
        self._db.executescript(
            "DELETE FROM units; DELETE FROM records; DELETE FROM meta; DELETE FROM contents;"
            "DELETE FROM statics;"
        )
        self._stored = set()
        self._kept = set()
        self._statics = {}
        self.broken = {}
        self._deferred = []

    def restore(self) -> Restored:
        """Install every stored unit (those another points at first) and moto's random state;
        ``StateError`` when they cannot be read (nothing is changed on disk)."""
        try:
            return self._restore()
        except Exception as exc:
            raise StateError(self.path, exc) from exc

    def _restore(self) -> Restored:
        db = self._db
        # S3 contents no unit holds any more (deleted objects) go first.
        referenced = set()
        for (digests,) in db.execute("SELECT digests FROM units"):
            referenced.update(json.loads(digests))
        self._stored = {digest for (digest,) in db.execute("SELECT digest FROM contents")}
        db.executemany(
            "DELETE FROM contents WHERE digest = ?", [(d,) for d in self._stored - referenced]
        )
        self._stored &= referenced
        rows = db.execute(
            "SELECT service, account, region, units.blob, refs, statics.blob FROM units"
            " LEFT JOIN statics USING (service, account, region)"
        ).fetchall()
        # A unit that points at others is loaded after them, so it gets the restored ones.
        rows.sort(key=lambda row: row[4] != "[]")
        for service, account, region, blob, _refs, static in rows:
            install_unit((service, account, region), blob, self._content, static)
        self._kept = {(service, account, region) for service, account, region, *_ in rows}
        beside = db.execute("SELECT value FROM meta WHERE key = 'registries'").fetchone()
        for service, values in (pickle.loads(beside[0]) if beside else {}).items():
            vars(_service(service)).update(values)
        used = db.execute("SELECT value FROM meta WHERE key = 'last_used'").fetchone()
        _put_back_last_used(pickle.loads(used[0]) if used else {}, self._kept)
        state = self._db.execute("SELECT value FROM meta WHERE key = 'random'").fetchone()
        if state:
            mock_random.setstate(pickle.loads(state[0]))
        records = [
            (seq, trail, region, json.loads(record))
            for seq, trail, region, record in self._db.execute(
                "SELECT seq, trail, region, record FROM records ORDER BY seq"
            )
        ]
        top = self._db.execute("SELECT max(seq) FROM records").fetchone()[0] or 0
        return Restored(units=len(rows), records=records, seq=top)

    def _content(self, digest: str) -> bytes:
        row = self._db.execute("SELECT value FROM contents WHERE digest = ?", (digest,)).fetchone()
        if row is None:
            raise pickle.UnpicklingError(f"no stored content {digest}")
        return row[0]

    # -- the committer -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Commit what is pending, then stop the committer."""
        self.wait(self.request(), timeout)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def request(
        self,
        services: Iterable[str] = (),  # "ec2", "ec2@us-east-1", or ALL
        added: Iterable[tuple[int, str, str, dict]] = (),
        dropped: Iterable[int] = (),
    ) -> int:
        """Ask for a commit holding the current state of ``services`` (``ALL``: every unit) and
        these record changes; returns the ticket to ``wait`` for. ``dropped`` rows are removed
        once ``services`` are on disk (a delivered record's row goes with its log file)."""
        services = tuple(services)
        with self._cond:
            self._batch.services.update(services)
            self._batch.added.extend(added)
            self._batch.dropped.extend((seq, services) for seq in dropped)
            self._requested += 1
            self._cond.notify_all()
            return self._requested

    def wait(self, ticket: int, timeout: float = 30.0, *, through_failures: bool = True) -> bool:
        """Block until the commit for ``ticket`` is on disk; False when it is not in time.
        ``through_failures=False``: False as soon as an attempt to commit it failed (it is
        retried meanwhile; ``error`` says why)."""
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    self._committed >= ticket or (not through_failures and self._failed >= ticket)
                ),
                timeout,
            )
            return self._committed >= ticket

    def unsaved(self, services: Iterable[str]) -> dict[UnitKey, str]:
        """The broken units (and why) among those of ``services`` themselves, as ``request``
        names them: a change there is not on disk, whatever was committed since.

        The services a change may reach in turn (``EFFECTS``) are committed with it but do not
        count here: S3 notifies SNS, SQS, Lambda and EventBridge, which reach CloudWatch Logs,
        so counting them would let one broken log group refuse every S3, SNS and EventBridge
        write of the account, the whole-account failure this is here to avoid. What such an
        effect did to a broken unit (a message an S3 event sent into a broken queue) is lost
        with the unit's changes since its last good copy, and the unit is reported broken."""
        return _broken_in(self.broken, services)

    def mark_built(self) -> None:
        self.wait(self.request([ALL]))
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('built', 1)")

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stop or self._requested > self._committed)
                if self._requested <= self._committed:
                    return
                target, batch, self._batch = self._requested, self._batch, _Batch()
            try:
                self._commit(batch)
                self.error = None
            except Exception as exc:
                # Keep what failed for the next try; callers wait (and time out) meanwhile.
                log.exception("could not commit the account's state; retrying")
                self.error = f"{type(exc).__name__}: {exc}"
                with self._cond:
                    self._batch.services |= batch.services
                    self._batch.added[:0] = batch.added
                    self._batch.dropped[:0] = batch.dropped
                    self._failed = max(self._failed, target)
                    self._cond.notify_all()
                time.sleep(0.5)
                continue
            with self._cond:
                self._committed = max(self._committed, target)
                self._cond.notify_all()

    def _commit(self, batch: _Batch) -> None:
        started = time.perf_counter()
        dumped: dict[UnitKey, Dumped] = {}
        #: The units this commit could not pickle, and why (each keeps its copy on disk).
        failed: dict[UnitKey, str] = {}
        everything = ALL in batch.services
        if batch.services or not self._kept.union(self.broken).issuperset(units()):
            wanted = _wanted(batch.services)
            with self.lock.exclusive():
                present = units()
                keys = {id(backend): key for key, backend in present.items()}
                self._statics = {
                    key: static
                    for key, static in self._statics.items()
                    if present.get(key) is static.root and not everything
                }
                for key, backend in present.items():
                    unseen = key not in self._kept and key not in self.broken
                    if everything or wanted(key) or unseen:
                        try:
                            static = self._static(key, backend, keys)
                            dumped[key] = dump_unit(backend, keys, self._stored, static)
                        except Exception as exc:
                            failed[key] = self._why(key, exc, backend, keys)
                rng = pickle.dumps(mock_random.getstate())
                kept_beside = pickle.dumps(registries())
        used = pickle.dumps(last_used())
        if everything:
            broken = failed
            kept = set(dumped) | (self._kept & set(failed))
        else:
            broken = {k: why for k, why in self.broken.items() if k not in dumped} | failed
            kept = self._kept | set(dumped)
        # A delivered record's row goes once the unit holding its log file is on disk.
        dropping = self._deferred + batch.dropped
        deferred = [(seq, services) for seq, services in dropping if _broken_in(broken, services)]
        dropped = [seq for seq, services in dropping if not _broken_in(broken, services)]
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if everything:  # every unit rewritten; a broken one keeps its last good copy
                for table in ("units", "statics"):
                    rows = db.execute(f"SELECT service, account, region FROM {table}")
                    db.executemany(
                        f"DELETE FROM {table} WHERE service = ? AND account = ? AND region = ?",
                        [row for row in rows.fetchall() if row not in kept],
                    )
            new = {d: v for unit in dumped.values() for d, v in unit.blobs.items()}
            db.executemany("INSERT OR IGNORE INTO contents VALUES (?, ?)", new.items())
            db.executemany(
                "INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (*key, u.blob, json.dumps(sorted(u.refs)), json.dumps(sorted(u.digests)))
                    for key, u in dumped.items()
                ],
            )
            db.executemany(
                "INSERT OR REPLACE INTO statics VALUES (?, ?, ?, ?)",
                [(*key, u.static.blob) for key, u in dumped.items() if u.static and u.static.blob],
            )
            db.executemany(
                "DELETE FROM statics WHERE service = ? AND account = ? AND region = ?",
                [key for key, u in dumped.items() if u.static is None],
            )
            if dumped or batch.services:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('random', ?)", (rng,))
                db.execute("INSERT OR REPLACE INTO meta VALUES ('registries', ?)", (kept_beside,))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('last_used', ?)", (used,))
            db.executemany(
                "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?)",
                [(s, t, r, json.dumps(rec)) for s, t, r, rec in batch.added],
            )
            db.executemany("DELETE FROM records WHERE seq = ?", [(s,) for s in dropped])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._stored.update(new)
        for unit in dumped.values():
            if unit.static is not None:
                unit.static.blob = None  # on disk now
        self._kept = kept
        self._deferred = deferred
        for key, why in broken.items():
            if self.broken.get(key) != why:
                log.error(
                    "the %s state cannot be saved: %s; its last saved copy is kept, and calls "
                    "that change it are refused until it can be",
                    unit_name(key),
                    why,
                )
        for key in self.broken.keys() - broken.keys():
            log.info("the %s state is saved again", unit_name(key))
        self.broken = broken
        self.stats["commits"] += 1
        self.stats["units_written"] += len(dumped)
        self.stats["last_commit_ms"] = round((time.perf_counter() - started) * 1000, 2)

    def _why(self, key: UnitKey, exc: Exception, backend: BaseBackend, keys) -> str:
        """What stops a unit from being pickled, and where in it, as ``broken`` keeps it (the
        place is looked for only when the reason is new: it costs a few pickles of the unit)."""
        why = f"{type(exc).__name__}: {exc}"
        known = self.broken.get(key)
        if known is not None and (known == why or known.startswith(f"{why} (at ")):
            return known
        try:
            place = _culprit(backend, keys)
        except Exception:  # only a hint: never a reason to fail the commit
            place = ""
        return f"{why} (at {place})" if place else why

    def _static(self, key: UnitKey, backend: BaseBackend, keys: dict[int, UnitKey]):
        """The unit's static data: the one captured, or a new capture (stored with this
        commit) for a unit that has none yet in this process or whose backend was replaced."""
        if key[0] not in STATIC or not _plain(type(backend)):
            return None
        static = self._statics.get(key)
        if static is None:
            static = self._statics[key] = Static(key, backend, keys)
        return static


def _wanted(changed: Iterable[str], effects: bool = True):
    """Which units a set of changes covers: ``"ec2"`` is every EC2 backend, ``"ec2@us-east-1"``
    the one of that region (and of its partition, where global services such as IAM and S3
    keep theirs), each with the services it may have changed in turn (``EFFECTS``) unless
    ``effects`` is False; ``ALL`` is every unit."""
    whole: set[str] = set()
    scoped: set[tuple[str, str]] = set()
    for change in changed:
        if change == ALL:
            return lambda key: True
        service, _, region = change.partition("@")
        if region:
            scoped |= {(service, region), (service, get_partition(region))}
        else:
            whole.add(service)
        if effects:
            whole |= _effects(service)
    return lambda key: key[0] in whole or (key[0], key[2]) in scoped


def _broken_in(broken: dict[UnitKey, str], services: Iterable[str]) -> dict[UnitKey, str]:
    """The units of ``broken`` that belong to ``services`` themselves (their effects aside)."""
    if not broken:
        return {}
    own = _wanted(services, effects=False)
    return {key: why for key, why in broken.items() if own(key)}


def _effects(service: str) -> set[str]:
    """Every service a change in ``service`` can reach, effects of effects included (S3 ->
    EventBridge -> CloudWatch Logs)."""
    found: set[str] = set()
    todo = [service]
    while todo:
        for effect in EFFECTS.get(todo.pop(), ()):
            if effect not in found:
                found.add(effect)
                todo.append(effect)
    return found
