// Drives OpenSAN with QSAN's own Go SDK (github.com/QsanJohnson/goqsan), as QSAN's CSI driver
// and goqsan's tests call it: login with the CSI scope, about, pools, a volume's whole life,
// metadata and timestamps, QoS, a clone, snapshot space, snapshots (the trash, rollback), an iSCSI
// target and its LUNs, and the error codes goqsan's tests require. OpenSAN's own code;
// it only calls the SDK's public API. Usage: goqsan-check <host> <port> <user> <password>.
// Each step prints one line; the first failure prints FAIL and exits 1.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/QsanJohnson/goqsan"
)

var ctx = context.Background()

func fail(step string, err error) {
	fmt.Printf("FAIL %s: %v\n", step, err)
	os.Exit(1)
}

func check(step string, ok bool, detail string) {
	if !ok {
		fail(step, errors.New(detail))
	}
	fmt.Printf("ok %s\n", step)
}

// expectError checks that err is the RestError of this status and code.
func expectError(step string, err error, status, code int) {
	var rest *goqsan.RestError
	if !errors.As(err, &rest) {
		fail(step, fmt.Errorf("want status %d code %d, got %v", status, code, err))
	}
	check(step, rest.StatusCode == status && rest.ErrResp.Error.Code == code,
		fmt.Sprintf("want status %d code %d, got %d %d (%s)", status, code, rest.StatusCode,
			rest.ErrResp.Error.Code, rest.ErrResp.Error.Message))
}

func main() {
	if len(os.Args) != 5 {
		fmt.Println("usage: goqsan-check <host> <port> <user> <password>")
		os.Exit(2)
	}
	host, user, password := os.Args[1], os.Args[3], os.Args[4]
	port, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fail("port", err)
	}
	client := goqsan.NewClient(host, goqsan.ClientOptions{Port: port, ReqTimeout: 60 * time.Second})

	about, err := goqsan.NewSystem(client).GetAbout(ctx)
	if err != nil {
		fail("about", err)
	}
	check("about", about.ModelType == "SAN" && about.ModelName != "", fmt.Sprintf("%+v", about))

	auth, err := client.GetAuthClient(ctx, user, password, goqsan.GetCSIScopes(password))
	if err != nil {
		fail("login", err)
	}
	fmt.Println("ok login")

	pools, err := goqsan.NewPool(auth).ListPools(ctx)
	if err != nil {
		fail("list pools", err)
	}
	check("list pools", len(*pools) > 0, "no pool")
	pool := (*pools)[0]
	one, err := goqsan.NewPool(auth).ListPoolByID(ctx, pool.ID)
	if err != nil {
		fail("get pool", err)
	}
	check("get pool", one.ID == pool.ID && one.Name == pool.Name, fmt.Sprintf("%+v", one))

	volumes := goqsan.NewVolume(auth)
	all, err := volumes.ListVolumes(ctx)
	if err != nil {
		fail("list volumes", err)
	}
	inPool, err := volumes.ListVolumesByPoolID(ctx, pool.ID)
	if err != nil {
		fail("list volumes by pool", err)
	}
	check("list volumes by pool", len(*inPool) <= len(*all), "more in a pool than in all")
	_, err = volumes.ListVolumeByID(ctx, "2222222222")
	expectError("get a missing volume", err, 404, 10300)

	readAhead := false
	content := []byte{0, 1, 2, 250, 255, 48, 49}
	created, err := volumes.CreateVolume(ctx, pool.ID, "goqsan-vol", 5120, &goqsan.VolumeCreateOptions{
		BlockSize: 4096, IoPriority: "HIGH", BgIoPriority: "HIGH", CacheMode: "WRITE_THROUGH",
		EnableReadAhead: &readAhead,
		Metadata: goqsan.VolumeMetadata{Status: "VALID", Type: "CSI Driver",
			Content: "AAEC+v8wMQ=="},
	})
	if err != nil {
		fail("create volume", err)
	}
	check("create volume", created.TotalSize == 5120 && created.PoolID == pool.ID &&
		created.CacheMode == "WRITE_THROUGH" && created.TargetID == "",
		fmt.Sprintf("%+v", created))
	_, err = volumes.CreateVolume(ctx, pool.ID, "goqsan-vol", 5120, &goqsan.VolumeCreateOptions{BlockSize: 4096})
	expectError("create a volume with a taken name", err, 400, 12501)

	got, err := volumes.ListVolumeByID(ctx, created.ID)
	if err != nil {
		fail("get volume", err)
	}
	check("get volume", got.Name == "goqsan-vol" && got.IoPriority == "HIGH", fmt.Sprintf("%+v", got))

	status, kind, meta, err := volumes.GetMetadata(ctx, created.ID)
	if err != nil {
		fail("get metadata", err)
	}
	check("get metadata", status == "VALID" && kind == "CSI Driver" && bytes.Equal(meta, content),
		fmt.Sprintf("%s %s %v", status, kind, meta))
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	_, _, meta, err = volumes.SetMetadata(ctx, created.ID, "VALID", "CSI Driver", every)
	if err != nil {
		fail("set metadata", err)
	}
	check("set metadata: every byte back", bytes.Equal(meta, every), fmt.Sprintf("%v", meta))

	first, err := volumes.SetTimestamp(ctx, created.ID, "AUTO")
	if err != nil {
		fail("set timestamp", err)
	}
	time.Sleep(2 * time.Second)
	second, err := volumes.SetTimestamp(ctx, created.ID, "AUTO")
	if err != nil {
		fail("set timestamp again", err)
	}
	t1, _ := strconv.ParseUint(first, 10, 64)
	t2, _ := strconv.ParseUint(second, 10, 64)
	check("timestamp grows with the clock", t1 > 0 && t2-t1 >= 2, first+" "+second)
	status, _, meta, err = volumes.GetMetadata(ctx, created.ID)
	check("a timestamp keeps the metadata", err == nil && status == "VALID" && bytes.Equal(meta, every),
		fmt.Sprintf("%v %s", err, status))

	yes := true
	modified, err := volumes.ModifyVolume(ctx, created.ID, &goqsan.VolumeModifyOptions{
		TotalSize: 20480, CacheMode: "WRITE_BACK", EnableReadAhead: &yes})
	if err != nil {
		fail("modify volume", err)
	}
	check("modify volume", modified.TotalSize == 20480 && modified.CacheMode == "WRITE_BACK" &&
		modified.EnableReadAhead && modified.IoPriority == "HIGH", fmt.Sprintf("%+v", modified))
	modified, err = volumes.ModifyVolume(ctx, created.ID, &goqsan.VolumeModifyOptions{
		Name: "goqsan-renamed", BgIoPriority: "LOW",
		VolumeQoSOptions: goqsan.VolumeQoSOptions{IoPriority: "HIGH", TargetResponseTime: 123,
			MaxIops: 1234, MaxThroughtput: 1234}})
	if err != nil {
		fail("modify QoS", err)
	}
	check("modify QoS", modified.Name == "goqsan-renamed" && modified.BgIoPriority == "LOW" &&
		modified.TargetResponseTime == 123 && modified.MaxIops == 1234 &&
		modified.MaxThroughtput == 1234 && modified.TotalSize == 20480, fmt.Sprintf("%+v", modified))

	for _, rule := range []struct {
		enable bool
		rule   string
		want   string
	}{{true, "IO_PRIORITY", "IO_PRIORITY"}, {false, "IO_PRIORITY", "NONE"},
		{true, "MAX_IOPS_THROUGHPUT", "MAX_IOPS_THROUGHPUT"}} {
		qos, err := volumes.SetQoS(ctx, rule.enable, rule.rule)
		if err != nil {
			fail("set QoS", err)
		}
		read, err := volumes.GetQoS(ctx)
		if err != nil {
			fail("get QoS", err)
		}
		check("QoS "+rule.want, qos.QosRule == rule.want && read.QosRule == rule.want &&
			read.EnableQos == rule.enable, fmt.Sprintf("%+v %+v", qos, read))
	}

	clone(volumes, created.ID, pool.ID)
	snapshots(volumes, created.ID)
	luns(auth, volumes, created.ID)

	err = volumes.DeleteVolume(ctx, "11111111")
	expectError("delete a missing volume", err, 400, 10300)
	if err = volumes.DeleteVolume(ctx, created.ID); err != nil {
		fail("delete volume", err)
	}
	_, err = volumes.ListVolumeByID(ctx, created.ID)
	expectError("the deleted volume is gone", err, 404, 10300)
	fmt.Println("PASS")
}

// clone copies the volume as goqsan's clone test does, waits until the copy is ONLINE (as the
// CSI driver polls), turns its BACKUP tag into RAID as the driver does, and deletes it.
func clone(volumes *goqsan.VolumeOp, volID, poolID string) {
	made, err := volumes.Clone(ctx, volID, "goqsan-clone", poolID)
	if err != nil {
		fail("clone volume", err)
	}
	check("clone volume", made.ID != "" && made.ID != volID && made.Name == "goqsan-clone" &&
		made.PoolID == poolID && made.Tags.Type == "BACKUP" && made.TotalSize == 20480 &&
		(made.State == "CLONING" || made.State == "ONLINE") && made.Progress < 100,
		fmt.Sprintf("%+v", made))
	for deadline := time.Now().Add(120 * time.Second); made.State == "CLONING" &&
		time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		if made, err = volumes.ListVolumeByID(ctx, made.ID); err != nil {
			fail("clone progress", err)
		}
	}
	check("the clone is done", made.State == "ONLINE" && made.Online, fmt.Sprintf("%+v", made))
	tagged, err := volumes.ModifyVolume(ctx, made.ID, &goqsan.VolumeModifyOptions{
		Tags: goqsan.Tag{Type: "RAID"}})
	if err != nil {
		fail("tag the clone", err)
	}
	check("tag the clone", tagged.Tags.Type == "RAID", fmt.Sprintf("%+v", tagged))
	if err = volumes.DeleteVolume(ctx, made.ID); err != nil {
		fail("delete the clone", err)
	}
	fmt.Println("ok delete the clone")
}

func snapshots(volumes *goqsan.VolumeOp, volID string) {
	setting, err := volumes.GetSnapshotSetting(ctx, volID)
	if err != nil {
		fail("get snapshot setting", err)
	}
	size := int(math.Ceil(float64(setting.MinimumSize)/1024)) << 10
	enabled, err := volumes.SetSnapshotSetting(ctx, volID, &goqsan.SnapshotMutableSetting{TotalSize: size})
	if err != nil {
		fail("set snapshot space", err)
	}
	check("set snapshot space", enabled.TotalSize == size && enabled.AvailableSize == size,
		fmt.Sprintf("%+v", enabled))

	first, err := volumes.CreateSnapshot(ctx, volID, "kyle_snap1")
	if err != nil {
		fail("create snapshot", err)
	}
	check("create snapshot: its ID is its name", first.ID == "kyle_snap1" && first.CreateTime > 0,
		fmt.Sprintf("%+v", first))
	if _, err = volumes.GetSnapshot(ctx, volID, first.ID); err != nil {
		fail("get snapshot", err)
	}
	if err = volumes.DeleteSnapshot(ctx, volID, first.ID); err != nil {
		fail("delete snapshot", err)
	}
	second, err := volumes.CreateSnapshot(ctx, volID, "kyle_snap2")
	if err != nil {
		fail("create a second snapshot", err)
	}
	_, err = volumes.CreateSnapshot(ctx, volID, second.Name)
	expectError("a taken snapshot name", err, 429, 13514)
	_, err = volumes.CreateSnapshot(ctx, volID, "kyle_snap2222222222222222222222222222222")
	expectError("a snapshot name too long", err, 400, 13502)
	err = volumes.DeleteSnapshot(ctx, "11111111", second.ID)
	expectError("delete a snapshot of a missing volume", err, 400, 10300)
	err = volumes.DeleteSnapshot(ctx, volID, "11111111")
	expectError("delete a missing snapshot", err, 400, 13502)

	third, err := volumes.CreateSnapshot(ctx, volID, "kyle_snap3")
	if err != nil {
		fail("create a third snapshot", err)
	}
	trashed, err := volumes.ModifySnapshot(ctx, volID, third.ID,
		&goqsan.SnaphshotOptions{Trash: goqsan.SnapTrash{InTrash: true}})
	if err != nil {
		fail("move a snapshot to the trash", err)
	}
	check("move a snapshot to the trash", len(*trashed) == 1 && (*trashed)[0].Trash.InTrash,
		fmt.Sprintf("%+v", trashed))
	restored, err := volumes.ModifySnapshot(ctx, volID, third.ID, &goqsan.SnaphshotOptions{})
	if err != nil {
		fail("restore a snapshot from the trash", err)
	}
	check("restore a snapshot from the trash", !(*restored)[0].Trash.InTrash, fmt.Sprintf("%+v", restored))

	if err = volumes.RollbackSnapshot(ctx, volID, second.ID); err != nil {
		fail("rollback", err)
	}
	left, err := volumes.ListSnapshots(ctx, volID)
	if err != nil {
		fail("list snapshots", err)
	}
	check("rollback deletes the later snapshots", len(*left) == 1 && (*left)[0].ID == second.ID,
		fmt.Sprintf("%+v", left))
	if err = volumes.DeleteAllSnapshots(ctx, volID); err != nil {
		fail("delete all snapshots", err)
	}
	disabled, err := volumes.SetSnapshotSetting(ctx, volID, &goqsan.SnapshotMutableSetting{TotalSize: 0})
	if err != nil {
		fail("remove snapshot space", err)
	}
	check("remove snapshot space", disabled.TotalSize == 0, fmt.Sprintf("%+v", disabled))
}

func luns(auth *goqsan.AuthClient, volumes *goqsan.VolumeOp, volID string) {
	targets := goqsan.NewTarget(auth)
	existing, err := targets.ListTargets(ctx, "")
	if err != nil {
		fail("list targets", err)
	}
	check("list targets", len(*existing) > 0 && len((*existing)[0].Iscsi) == 1 &&
		len((*existing)[0].Iscsi[0].Eths) > 0, fmt.Sprintf("%+v", existing))
	eths := (*existing)[0].Iscsi[0].Eths

	target, err := targets.CreateTarget(ctx, "kyle_test_groupCSCSI", "iSCSI",
		&goqsan.CreateTargetParam{Iscsis: []goqsan.Iscsi{{Eths: eths}}})
	if err != nil {
		fail("create target", err)
	}
	check("create target", target.Type == "iSCSI" && len(target.Iscsi) == 1 &&
		target.Iscsi[0].Iqn != "", fmt.Sprintf("%+v", target))
	byID, err := targets.ListTargetByID(ctx, target.ID)
	if err != nil {
		fail("get target", err)
	}
	check("get target", byID.Name == "kyle_test_groupCSCSI", fmt.Sprintf("%+v", byID))

	all := []goqsan.Host{{Name: "*"}}
	lun, err := targets.MapLun(ctx, target.ID, volID, &goqsan.LunMapParam{Name: "10", Hosts: all})
	if err != nil {
		fail("map LUN 10", err)
	}
	check("map LUN 10", lun.Name == "10" && lun.VolumeID == volID, fmt.Sprintf("%+v", lun))
	volume, err := volumes.ListVolumeByID(ctx, volID)
	check("the volume names its target and LUN", err == nil && volume.TargetID == target.ID &&
		volume.LunID == lun.ID, fmt.Sprintf("%v %+v", err, volume))
	if _, err = targets.ListTargetLun(ctx, target.ID, lun.ID); err != nil {
		fail("get LUN", err)
	}
	moved, err := targets.ModifyTargetLun(ctx, target.ID, lun.ID, &goqsan.LunParam{Name: "5", Hosts: all})
	if err != nil {
		fail("renumber LUN", err)
	}
	check("renumber LUN: same ID", moved.ID == lun.ID && moved.Name == "5", fmt.Sprintf("%+v", moved))
	listed, err := targets.ListAllLuns(ctx, target.ID)
	if err != nil {
		fail("list LUNs", err)
	}
	check("list LUNs", len(*listed) == 1 && (*listed)[0].Name == "5", fmt.Sprintf("%+v", listed))
	err = volumes.DeleteVolume(ctx, volID)
	expectError("delete a mapped volume", err, 400, 10405)
	if err = targets.UnmapLun(ctx, target.ID, lun.ID); err != nil {
		fail("unmap LUN", err)
	}
	picked, err := targets.MapLun(ctx, target.ID, volID, &goqsan.LunMapParam{Hosts: all})
	if err != nil {
		fail("map without a LUN number", err)
	}
	check("map without a LUN number: the lowest free", picked.Name == "0", fmt.Sprintf("%+v", picked))
	if err = targets.UnmapLun(ctx, target.ID, picked.ID); err != nil {
		fail("unmap", err)
	}
	if err = targets.DeleteTarget(ctx, target.ID); err != nil {
		fail("delete target", err)
	}
	_, err = targets.ListTargetByID(ctx, target.ID)
	expectError("the deleted target is gone", err, 404, 10600)

	// Fibre Channel, as goqsan's TestTarget: the FC ports, an FCP target with a LUN.
	ports, err := targets.ListFC(ctx)
	if err != nil {
		fail("list FC ports", err)
	}
	check("list FC ports", len(*ports) > 0 && (*ports)[0].Wwpn != "", fmt.Sprintf("%+v", ports))
	fc, err := targets.CreateTarget(ctx, "kyle_test_groupCFCP", "FCP",
		&goqsan.CreateTargetParam{Name: "kyle_test_groupCFCP", Type: "FCP"})
	if err != nil {
		fail("create FC target", err)
	}
	check("create FC target", fc.Type == "FCP" && len(fc.Fcp) == 1 &&
		fc.Fcp[0].Wwn == (*ports)[0].Wwnn, fmt.Sprintf("%+v", fc))
	fcLun, err := targets.MapLun(ctx, fc.ID, volID, &goqsan.LunMapParam{Name: "10", Hosts: all})
	if err != nil {
		fail("map on the FC target", err)
	}
	if err = targets.UnmapLun(ctx, fc.ID, fcLun.ID); err != nil {
		fail("unmap from the FC target", err)
	}
	if err = targets.DeleteTarget(ctx, fc.ID); err != nil {
		fail("delete the FC target", err)
	}
	fmt.Println("ok FC target")
}
