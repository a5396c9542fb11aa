"""XevoClient: the calls of QSAN's current REST API (XEVO firmware) that SANOS's API has too,
answered as the SDK's SANOS models, so that a program (and the CLI) works with either array.

The wire is the one QSAN's own Go SDK (goqsan) speaks (../shared/reference/xevo-wire-format.md):
JSON bodies, IDs as strings, sizes in MiB, upper-case words. This client converts: IDs become
the integers SANOS's models hold (QSAN's IDs are digit strings; a snapshot's ID is its name),
MiB become bytes, `WRITE_BACK` becomes `Write-back`. What XEVO does not say (a pool's capacity
and health) is None.

Sessions follow goqsan: `POST /auth/get` with `offlineAccess=true` gives an access token and a
refresh token; on a 401 the client asks `POST /auth/refresh` for a new access token and sends
the request once more; when the refresh token is refused too, it logs in again with the password
(if it has one). As with SanosClient, a 401 means the array refused the request before acting on
it, so sending it again is its first execution. Other failures of a change are never repeated.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from os import PathLike
from types import TracebackType
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from opensan.client.errors import (
    AuthenticationError,
    NotFound,
    NotSupported,
    SanosError,
    UnexpectedResponse,
)
from opensan.client.models import (
    Api,
    Enclosure,
    HardwareMonitor,
    LunMapping,
    Pool,
    SanosObject,
    Sensor,
    Session,
    Snapshot,
    SnapshotSpace,
    Target,
    TargetLuns,
    Volume,
    VolumeSnapshots,
)
from opensan.client.sanos import checked_url, decoded, error_of, transmit, verification

log = logging.getLogger("opensan.client")

MIB = 2**20
GIB_IN_MIB = 1024
ISCSI_PORT = 3260  # XEVO names a target's data ports, not its portals' port: iSCSI's default
MAX_LUN = 254
Method = Literal["GET", "POST", "PATCH", "DELETE"]
Wire = TypeVar("Wire", bound=BaseModel)


class XevoAbout(SanosObject):
    """`GET /rest/v1/about`: the array's name, model, firmware and addresses (open: no login)."""

    system_name: str = ""
    model_name: str = ""
    model_type: str = ""  # "SAN" (block) or a NAS model's
    serial_number: str = ""
    firmware_ver: str = ""
    wwn: str = ""
    addresses: list[dict[str, Any]] = Field(default_factory=list)


# XEVO's JSON as this client reads it. Go's decoder gives a missing field its zero value, so
# do these: an array that leaves a field out is read as goqsan would read it.

class _In(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore",
                              defer_build=True)


class _Auth(_In):
    access_token: str
    expire_time: int = 0
    refresh_token: str = ""


class _User(_In):
    name: str
    is_admin: bool = False


class _Users(_In):
    users: list[_User] = []


class _Pool(_In):
    id: str
    name: str = ""
    provision: str = ""
    raid_level: str = ""
    num_of_volumes: int = 0


class _Tags(_In):
    wwn: str = ""


class _Volume(_In):
    id: str
    name: str = ""
    pool_id: str = ""
    target_id: str | None = ""
    state: str = ""
    health: str = ""
    provision: str = ""
    total_size: int = 0
    used_size: int = 0
    cache_mode: str = ""
    tags: _Tags = _Tags()


class _SnapshotSetting(_In):
    total_size: int = 0
    available_size: int = 0


class _Trash(_In):
    in_trash: bool = False


class _Snapshot(_In):
    id: str
    name: str = ""
    create_time: int = 0
    used_size: int = 0
    trash: _Trash = _Trash()


class _Iscsi(_In):
    iqn: str = ""
    name: str = ""
    eths: list[str] | None = None


class _Fcp(_In):
    wwn: str = ""


class _Target(_In):
    id: str
    name: str = ""
    type: str = ""
    iscsi: list[_Iscsi] | None = None
    fcp: list[_Fcp] | None = None


class _Host(_In):
    name: str
    rule: str = ""


class _Lun(_In):
    id: str
    name: str
    volume_id: str = ""
    hosts: list[_Host] | None = None


class _Ipv4(_In):
    ip: str = ""


class _Nic(_In):
    id: str
    ipv4: _Ipv4 = Field(default_factory=_Ipv4)


class _Reading(_In):
    name: str = ""
    value: int | None = None  # none for a power supply's or a cache module's state
    status: str = ""


class _MoreInfo(_In):
    voltage: list[_Reading] = []
    temperature: list[_Reading] = []
    psu_status: list[_Reading] = []
    fan_speed: list[_Reading] = []
    cache_to_flash: list[_Reading] = []


class _HardwareInfo(_In):
    sys_health: str = ""
    more_info: _MoreInfo = Field(default_factory=_MoreInfo)


class _Hardware(_In):
    enc_id: int = 0
    info: _HardwareInfo = Field(default_factory=_HardwareInfo)


# moreInfo's lists -> the SANOS sensor type and unit of their readings, and the reading's scale
# (XEVO's integers: millivolts as OpenSAN serves them; degrees C and RPM as they are).
_READINGS = {"voltage": ("voltage", "V", 0.001), "temperature": ("temperature", "C", 1.0),
             "fan_speed": ("fan", "RPM", 1.0), "psu_status": ("psu", "", 1.0),
             "cache_to_flash": ("battery", "", 1.0)}
HEAD_UNIT = 0  # the enclosure of XEVO's hardware call: the one with the controllers


def sanos_word(word: str, joiner: str = " ") -> str:
    """A XEVO word as SANOS writes it: ONLINE -> Online, PARTIALLY_OPTIMAL -> Partially optimal;
    with joiner "-": WRITE_BACK -> Write-back, READ_WRITE -> Read-write."""
    return word.replace("_", joiner).capitalize()


def _controller(eths: list[str]) -> int | None:
    """The controller of a data port: QSAN writes c<controller - 1>e<port> (c0e1, c1e2)."""
    first = eths[0] if eths else ""
    digits = first[1:].partition("e")[0]
    return int(digits) + 1 if first.startswith("c") and digits.isdigit() else None


class XevoClient:
    """A session with one array over QSAN's XEVO REST API (a current QSAN array, or OpenSAN).

    Give `account` and `password` to let the client log in by itself, and again when its
    refresh token ends; or `token` (and `refresh_token`) from an earlier login. XEVO has no
    logout: leaving the with-block closes the connections and the session idles out.
    """

    api: ClassVar[Api] = Api.XEVO

    def __init__(
        self,
        base_url: str,
        account: str = "admin",
        password: str | None = None,
        *,
        token: str | None = None,
        refresh_token: str | None = None,
        verify: bool = True,
        ca_file: str | PathLike[str] | None = None,
        timeout: float = 30.0,
        get_attempts: int = 3,
        retry_backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = checked_url(base_url)
        self.account = account
        self.role: str | None = None
        self._password = password
        self._token = token
        self._refresh_token = refresh_token or None
        self._get_attempts = max(1, get_attempts)
        self._retry_backoff = retry_backoff
        self._timeout = timeout
        self._login_lock = threading.Lock()
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport,
                                  verify=verification(self.base_url, verify, ca_file))

    def __repr__(self) -> str:
        return f"XevoClient({self.base_url!r}, account={self.account!r})"

    def __enter__(self) -> XevoClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def token(self) -> str | None:
        """The access token in use, None before the first login."""
        return self._token

    @property
    def refresh_token(self) -> str | None:
        """The refresh token of the session (keep it as secret as a password)."""
        return self._refresh_token

    # Sessions

    def login(self) -> Session:
        """Open a session (`POST /auth/get`) and learn the account's role from the user list."""
        auth = self._open_session()
        self.role = self._role()
        return Session(access_token=auth.access_token, expire_time=auth.expire_time,
                       account=self.account, role=self.role)

    def logout(self) -> None:
        """Forget the session here: XEVO has no call to end it, so it idles out on the array."""
        self._token = self._refresh_token = None

    def about(self) -> XevoAbout:
        """The array's name, model and firmware (needs no session)."""
        return self._parse(XevoAbout, self._call("GET", "/rest/v1/about", public=True))

    # Pools and volumes

    def pools(self) -> list[Pool]:
        return [self._pool(p) for p in self._list(_Pool, "/rest/v2/storage/pools")]

    def volumes(self) -> list[Volume]:
        """Every volume; XEVO lists no snapshot figures with a volume, so each costs two more
        GETs (its snapshot settings and its snapshots)."""
        raid = self._raid_levels()
        return [self._volume(v, raid) for v in self._list(_Volume, "/rest/v2/storage/block/volumes")]

    def volume(self, volume_id: int) -> Volume:
        return self._volume(self._get_volume(volume_id), self._raid_levels())

    def create_volume(self, pool_id: int, name: str, size_gb: int,
                      provision: Literal["thick", "thin"] | None = None) -> Volume:
        """Create a volume; XEVO's takes the pool's provisioning, so another is refused here."""
        if provision is not None:
            pool = self._one(_Pool, f"/rest/v2/storage/pools/{pool_id}")
            if pool.provision.lower() != provision:
                raise NotSupported(f"A XEVO array makes a volume with its pool's provisioning: "
                                   f"pool {pool.name} is {pool.provision.lower()}, not {provision}.")
        created = self._one(_Volume, "/rest/v2/storage/block/volumes", "POST", json={
            "name": name, "totalSize": size_gb * GIB_IN_MIB, "blockSize": 4096,
            "poolId": str(pool_id)})
        return self._volume(created, self._raid_levels())

    def extend_volume(self, volume_id: int, size_gb: int) -> Volume:
        """Grow a volume to `size_gb` GiB (volumes never shrink)."""
        grown = self._one(_Volume, f"/rest/v2/storage/block/volumes/{volume_id}", "PATCH",
                          json={"totalSize": size_gb * GIB_IN_MIB})
        return self._volume(grown, self._raid_levels())

    def delete_volume(self, volume_id: int) -> Volume:
        """Delete a volume; answers it as it was (XEVO's DELETE answers nothing)."""
        gone = self.volume(volume_id)
        self._call("DELETE", f"/rest/v2/storage/block/volumes/{volume_id}")
        return gone

    # Snapshots

    def snapshots(self, volume_id: int) -> VolumeSnapshots:
        setting = self._snapshot_setting(volume_id)
        return VolumeSnapshots(volume_id=volume_id, **self._space(setting),
                               snapshots=self._snapshots(volume_id))

    def set_snapshot_space(self, volume_id: int, size_gb: int) -> SnapshotSpace:
        """Set a volume's snapshot space in GiB; 0 removes it (as goqsan does, with {})."""
        body = {"totalSize": size_gb * GIB_IN_MIB} if size_gb else {}
        setting = self._one(_SnapshotSetting, f"/rest/v2/backup/snapshot/targets/{volume_id}",
                            "PATCH", json=body)
        return SnapshotSpace(volume_id=volume_id, **self._space(setting))

    def take_snapshot(self, volume_id: int, name: str | None = None) -> Snapshot:
        """Take a snapshot; without a name one is made from the time (UTC), as SANOS does."""
        name = name or datetime.now(UTC).strftime("snap-%Y%m%d-%H%M%S")
        taken = self._one(_Snapshot, self._snapshot_path(volume_id), "POST", json={"name": name})
        return _snapshot(taken, volume_id)

    def delete_snapshot(self, snapshot_id: int | str, volume_id: int | None = None) -> Snapshot:
        """Delete a snapshot for good (not into the trash); answers it as it was."""
        volume = _volume_of(snapshot_id, volume_id)
        path = self._snapshot_path(volume, snapshot_id)
        gone = _snapshot(self._one(_Snapshot, path), volume)
        self._call("DELETE", path)
        return gone

    def rollback_snapshot(self, snapshot_id: int | str, volume_id: int | None = None) -> Snapshot:
        """Roll the volume back to the snapshot; the snapshots taken after it are deleted."""
        volume = _volume_of(snapshot_id, volume_id)
        path = self._snapshot_path(volume, snapshot_id)
        self._call("POST", f"{path}/rollback")
        return _snapshot(self._one(_Snapshot, path), volume)

    # Targets and LUNs

    def targets(self) -> list[Target]:
        """Every target; its LUN count costs a GET of its LUNs."""
        portals = self._portals()
        return [self._target(t, portals) for t in self._list(_Target, "/rest/v2/dataTransfer/targets")]

    def target_luns(self, target_id: int) -> TargetLuns:
        target = self._one(_Target, f"/rest/v2/dataTransfer/targets/{target_id}")
        names = self._volume_names()
        luns = [self._mapping(lun, target, names) for lun in self._luns(target_id)]
        used = {m.lun for m in luns}
        return TargetLuns(target_id=target_id, luns=luns,
                          free_luns=[n for n in range(MAX_LUN + 1) if n not in used])

    def hardware_monitor(self) -> HardwareMonitor:
        """The head unit's health and readings (`/rest/v1/hardware/0/info?moreInfo=true`) as the
        SANOS hardware monitor's: XEVO names a reading only by its name (no sensor ID, no
        location), and a power supply's or cache module's state has no value."""
        found = self._parse(_Hardware, self._call(
            "GET", f"/rest/v1/hardware/{HEAD_UNIT}/info?moreInfo=true"))
        sensors = [Sensor(type=kind, location="", name=reading.name, unit=unit if
                          reading.value is not None else "",
                          value="" if reading.value is None else reading.value * scale,
                          status=sanos_word(reading.status))
                   for field, (kind, unit, scale) in _READINGS.items()
                   for reading in getattr(found.info.more_info, field)]
        return HardwareMonitor(system_health=sanos_word(found.info.sys_health), enclosures=[
            Enclosure(id=found.enc_id, name="Head unit", sensors=sensors)])

    def lun_mappings(self) -> list[LunMapping]:
        names = self._volume_names()
        return [self._mapping(lun, target, names)
                for target in self._list(_Target, "/rest/v2/dataTransfer/targets")
                for lun in self._luns(int(target.id))]

    def map_lun(self, target_id: int, lun: int, volume_id: int,
                permission: Literal["rw", "ro"] = "rw",
                hosts: list[str] | None = None) -> LunMapping:
        """Map a volume at a LUN of a target; `hosts` are initiator names (default: every host).
        XEVO maps read-write only (QSAN's CSI driver keeps read-only in the volume's metadata)."""
        if permission != "rw":
            raise NotSupported("A XEVO array maps LUNs read-write only.")
        target = self._one(_Target, f"/rest/v2/dataTransfer/targets/{target_id}")
        mapped = self._one(_Lun, f"/rest/v2/dataTransfer/targets/{target_id}/luns", "POST", json={
            "name": str(lun), "volumeId": str(volume_id),
            "hosts": [{"name": host} for host in hosts or ["*"]]})
        return self._mapping(mapped, target, self._volume_names())

    def unmap_lun(self, target_id: int, lun: int) -> LunMapping:
        """Unmap a LUN (XEVO names it by the mapping's ID: looked up from its number)."""
        target = self._one(_Target, f"/rest/v2/dataTransfer/targets/{target_id}")
        found = next((m for m in self._luns(target_id) if m.name == str(lun)), None)
        if found is None:
            raise NotFound(f"Target {target_id} has no LUN {lun}.")
        mapping = self._mapping(found, target, self._volume_names())
        self._call("DELETE", f"/rest/v2/dataTransfer/targets/{target_id}/luns/{found.id}")
        return mapping

    # Reading XEVO's objects as SANOS's

    def _pool(self, pool: _Pool) -> Pool:
        return Pool(id=_id(pool.id), name=pool.name, type=sanos_word(pool.provision),
                    raid_level=pool.raid_level, volume_count=pool.num_of_volumes)

    def _raid_levels(self) -> dict[str, str]:
        return {p.id: p.raid_level for p in self._list(_Pool, "/rest/v2/storage/pools")}

    def _get_volume(self, volume_id: int) -> _Volume:
        return self._one(_Volume, f"/rest/v2/storage/block/volumes/{volume_id}")

    def _volume_names(self) -> dict[int, str]:
        return {_id(v.id): v.name for v in self._list(_Volume, "/rest/v2/storage/block/volumes")}

    def _volume(self, volume: _Volume, raid: dict[str, str]) -> Volume:
        volume_id = _id(volume.id)
        space = self._space(self._snapshot_setting(volume_id))
        return Volume(
            id=volume_id, name=volume.name, pool_id=_id(volume.pool_id),
            capacity_bytes=volume.total_size * MIB, used_bytes=volume.used_size * MIB,
            provision=sanos_word(volume.provision), raid_level=raid.get(volume.pool_id, ""),
            health=sanos_word(volume.health), status=sanos_word(volume.state),
            cache_mode=sanos_word(volume.cache_mode, "-"), wwn=volume.tags.wwn,
            snapshot_count=len(self._snapshots(volume_id)), mapped=bool(volume.target_id),
            **space)

    def _snapshot_setting(self, volume_id: int) -> _SnapshotSetting:
        return self._one(_SnapshotSetting, f"/rest/v2/backup/snapshot/targets/{volume_id}")

    @staticmethod
    def _space(setting: _SnapshotSetting) -> dict[str, int]:
        used = max(setting.total_size - setting.available_size, 0)
        return {"snapshot_space_bytes": setting.total_size * MIB, "snapshot_used_bytes": used * MIB}

    def _snapshots(self, volume_id: int) -> list[Snapshot]:
        return [_snapshot(s, volume_id)
                for s in self._list(_Snapshot, self._snapshot_path(volume_id))]

    @staticmethod
    def _snapshot_path(volume_id: int, snapshot: int | str | None = None) -> str:
        path = f"/rest/v2/backup/snapshot/targets/{volume_id}/snapshots"
        return path if snapshot is None else f"{path}/{quote(str(snapshot), safe='')}"

    def _portals(self) -> dict[str, str]:
        """Data port ID -> its portal (address:3260)."""
        return {nic.id: f"{nic.ipv4.ip}:{ISCSI_PORT}"
                for nic in self._list(_Nic, "/rest/v2/network/ethernet") if nic.ipv4.ip}

    def _luns(self, target_id: int) -> list[_Lun]:
        # With the trailing slash, as goqsan lists them.
        return self._list(_Lun, f"/rest/v2/dataTransfer/targets/{target_id}/luns/")

    def _target(self, target: _Target, portals: dict[str, str]) -> Target:
        iscsi = target.iscsi[0] if target.iscsi else _Iscsi()
        wwn = target.fcp[0].wwn if target.fcp else ""
        eths = iscsi.eths or []
        return Target(id=_id(target.id), type=target.type, name=target.name,
                      controller=_controller(eths),
                      portals=[portals[eth] for eth in eths if eth in portals],
                      lun_count=len(self._luns(_id(target.id))), iqn=iscsi.iqn or None,
                      node=int(iscsi.name) if iscsi.name.isdigit() else None,
                      # Only a Fibre Channel target has one (OpenSAN's SANOS targets send none).
                      **({"wwn": wwn} if wwn else {}))

    @staticmethod
    def _mapping(lun: _Lun, target: _Target, names: dict[int, str]) -> LunMapping:
        hosts = lun.hosts or []
        rule = next((h.rule for h in hosts if h.rule), "READ_WRITE")
        volume_id = _id(lun.volume_id)
        return LunMapping(target_id=_id(target.id), lun=_id(lun.name), volume_id=volume_id,
                          volume_name=names.get(volume_id, ""),
                          permission=sanos_word(rule, "-"), hosts=[h.name for h in hosts],
                          protocol=target.type, snapshot_id=None, snapshot_name=None)

    def _role(self) -> str | None:
        """admin or user, from the local user list; None if the array does not show it."""
        try:
            users = self._one(_Users, "/rest/v2/account/domains/local/users").users
        except SanosError:
            return None
        found = next((u for u in users if u.name == self.account), None)
        return None if found is None else "admin" if found.is_admin else "user"

    # Transport

    def _list(self, kind: type[Wire], path: str) -> list[Wire]:
        data = self._call("GET", path)
        if not isinstance(data, list):
            raise UnexpectedResponse(f"{self.base_url} answered {path} with no JSON list: is "
                                     "this a XEVO array?", status=200)
        return [self._parse(kind, item) for item in data]

    def _one(self, kind: type[Wire], path: str, method: Method = "GET",
             json: dict[str, Any] | None = None) -> Wire:
        return self._parse(kind, self._call(method, path, json=json))

    def _call(self, method: Method, path: str, *, json: dict[str, Any] | None = None,
              form: dict[str, str] | None = None, public: bool = False) -> Any:
        """Send one request and return its JSON; after a 401, refresh (or log in) and send it
        once more, as goqsan does."""
        if public:
            return self._decode(self._transmit(method, path, None, json, form))
        token = self._session_token()
        response = self._transmit(method, path, token, json, form)
        if response.status_code == 401:
            token = self._renewed_token(token, response)
            response = self._transmit(method, path, token, json, form)
        return self._decode(response)

    def _open_session(self) -> _Auth:
        if self._password is None:
            raise AuthenticationError("No password was given to the client, so it cannot log in.")
        auth = self._parse(_Auth, self._call("POST", "/auth/get", public=True, form={
            "user": self.account, "password": self._password, "offlineAccess": "true"}))
        self._token, self._refresh_token = auth.access_token, auth.refresh_token or None
        return auth

    def _session_token(self) -> str:
        with self._login_lock:
            if self._token is None:
                if self._password is None:
                    raise AuthenticationError("Not logged in: give the client a password or a "
                                              "session token (opensan login).")
                self._open_session()
            assert self._token is not None
            return self._token

    def _renewed_token(self, refused: str, response: httpx.Response) -> str:
        with self._login_lock:
            if self._token != refused and self._token is not None:
                return self._token  # another thread has renewed it meanwhile
            if self._refresh_token:
                answer = self._transmit("POST", "/auth/refresh", refused, None,
                                        {"refreshToken": self._refresh_token})
                if answer.status_code == 200:
                    self._token = self._parse(_Auth, self._decode(answer)).access_token
                    return self._token
                if answer.status_code != 401:
                    raise error_of(answer)
            self._token = None
            if self._password is None:
                error = error_of(response)
                raise AuthenticationError(
                    f"{error.message} The client has no password to log in again: run "
                    "`opensan login` again (or give XevoClient a password).",
                    status=error.status, code=error.code)
            log.info("Session on %s ended; logging in again as %s", self.base_url, self.account)
            return self._open_session().access_token

    def _transmit(self, method: Method, path: str, token: str | None,
                  json: dict[str, Any] | None, form: dict[str, str] | None) -> httpx.Response:
        """Send once; a GET up to `get_attempts` times while the connection fails."""
        return transmit(self._http, self.base_url, self._timeout, self._get_attempts,
                        self._retry_backoff, method, path,
                        headers={"Authorization": token} if token else {}, json=json, data=form)

    def _decode(self, response: httpx.Response) -> Any:
        return decoded(response, self.base_url, "XEVO")

    def _parse(self, kind: type[Wire], data: Any) -> Wire:
        try:
            return kind.model_validate(data)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(map(str, first["loc"])) or "the answer"
            raise UnexpectedResponse(f"{self.base_url} answered a XEVO object that this client "
                                     f"cannot read: {where}: {first['msg']}.", status=200) from None


def _id(text: str) -> int:
    """QSAN's IDs are digit strings (goqsan's tests, csi-qsan's parsing); SANOS's models hold ints."""
    if not (text.isascii() and text.isdigit()):
        raise UnexpectedResponse(f"The array sent ID {text[:40]!r}, which is not a number.",
                                 status=200)
    return int(text)


def _snapshot(snapshot: _Snapshot, volume_id: int) -> Snapshot:
    return Snapshot(id=snapshot.id, volume_id=volume_id, name=snapshot.name or snapshot.id,
                    created_at=datetime.fromtimestamp(snapshot.create_time, UTC),
                    used_bytes=snapshot.used_size * MIB,
                    status="In trash" if snapshot.trash.in_trash else "Active")


def _volume_of(snapshot: int | str, volume_id: int | None) -> int:
    """XEVO names a snapshot within its volume: the volume is needed."""
    if volume_id is None:
        raise ValueError(f"a XEVO array names snapshot {snapshot!r} within its volume: give "
                         "volume_id too")
    return volume_id

