/* SPDX-License-Identifier: MIT */
/*
 * A libavahi-client.so.3 that loads but lacks avahi-client's functions:
 * test-mdns-load.py puts its directory first in LD_LIBRARY_PATH, and the
 * daemon must say which function is missing and run on without mDNS.
 */
int smartconnect_avahi_client_stub(void);

__attribute__((visibility("default"))) int smartconnect_avahi_client_stub(void)
{
	return 0;
}
