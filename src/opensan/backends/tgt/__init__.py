"""iSCSI through the userspace tgt daemon, for every backend that serves LUNs (Linux, Ceph):
tgtadm.py (commands, parsed output), daemon.py (a private tgtd), exports.py (the layout of
targets, ACLs and LUNs and the code that makes tgtd serve it), server.py (the two together,
supervised)."""
