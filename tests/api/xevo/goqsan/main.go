// Drives OpenSAN with QSAN's own Go SDK (github.com/QsanJohnson/goqsan), as QSAN's CSI driver
// and goqsan's tests call it: login with the CSI scope, about, pools, a volume's whole life,
// metadata and timestamps, QoS, and the error codes goqsan's tests require. OpenSAN's own code;
// it only calls the SDK's public API. Usage: goqsan-check <host> <port> <user> <password>.
// Each step prints one line; the first failure prints FAIL and exits 1.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

	err = volumes.DeleteVolume(ctx, "11111111")
	expectError("delete a missing volume", err, 400, 10300)
	if err = volumes.DeleteVolume(ctx, created.ID); err != nil {
		fail("delete volume", err)
	}
	_, err = volumes.ListVolumeByID(ctx, created.ID)
	expectError("the deleted volume is gone", err, 404, 10300)
	fmt.Println("PASS")
}
