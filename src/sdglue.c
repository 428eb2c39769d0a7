/* SPDX-License-Identifier: MIT */
/*
 * Socket activation (see sdglue.h). Without systemd, LISTEN_FDS is unset and
 * every subsystem binds its configured address itself.
 */
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "smartconnectd/log.h"
#include "smartconnectd/sdglue.h"

int sdglue_listen_fds(struct sdglue_fds *ret)
{
	char **names = NULL;
	int n, taken = 0;

	*ret = (struct sdglue_fds){ -1, -1, -1 };
	n = sd_listen_fds_with_names(1, &names);
	if (n < 0)
		return log_error_errno(n, "Cannot take the sockets from systemd: %m");

	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i, *slot = NULL;
		const char *name = names && names[i] ? names[i] : "unknown";

		if (strcmp(name, "modbus") == 0)
			slot = &ret->modbus;
		else if (strcmp(name, "http") == 0)
			slot = &ret->http;
		else if (strcmp(name, "passthrough") == 0)
			slot = &ret->passthrough;

		if (!slot || *slot >= 0) {
			log_warning(
			    "Ignoring socket %d named '%s' from systemd: expected one each of modbus, http "
			    "and passthrough",
			    fd, name);
			close(fd);
			continue;
		}
		*slot = fd;
		taken++;
		log_debug("Socket %d from systemd is '%s'", fd, name);
	}
	if (names)
		for (int i = 0; i < n; i++)
			free(names[i]);
	free(names);
	return taken;
}

void sdglue_close_fds(struct sdglue_fds *fds)
{
	int *all[] = { &fds->modbus, &fds->http, &fds->passthrough };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (*all[i] >= 0) {
			close(*all[i]);
			*all[i] = -1;
		}
}
