"""XEVO's replication task clean-up: DELETE /rest/v2/backup/replicate/<volumeId>/task.

On a QSAN array a clone is a replication task from its source volume; QSAN's CSI driver
deletes that task once the clone is done (the source shows replicaTargetId 4294967295 again
and can be deleted). OpenSAN keeps no replication tasks: a clone is independent of its
source when it is done. So the call does what a real array does for a volume without a task
(docs/xevo.md): the volume must exist (QSAN's invalid-volume code otherwise), nothing
changes, and the answer is the empty array that goqsan decodes."""

from __future__ import annotations

from opensan.api.endpoint import Access, Api, Call, Endpoint
from opensan.api.xevo.storage import VOLUME_ID, volume_id
from opensan.api.xevo.wire import EMPTY


async def delete_clone_task(call: Call) -> bytes:
    call.service.state.volume(volume_id(call))  # raises the volume's not-found
    return EMPTY


ENDPOINTS = [
    Endpoint("DELETE", "/rest/v2/backup/replicate/{volumeId}/task",
             "Clean up a volume's clone (replication) task; OpenSAN keeps none, so an "
             "existing volume answers [] and nothing changes.", delete_clone_task,
             params=(VOLUME_ID,), access=Access.ADMIN, api=Api.XEVO),
]
