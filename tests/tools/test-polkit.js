// SPDX-License-Identifier: MIT
// The shipped polkit rule, evaluated as polkitd evaluates it: the smartconnect
// user gets exactly the authorizations the network management needs, nobody
// else gets anything from it. node test-polkit.js RULES-FILE; TAP on stdout.
"use strict";
const fs = require("fs");
const vm = require("vm");

const GRANTED = [
	"org.freedesktop.NetworkManager.settings.modify.system",
	"org.freedesktop.NetworkManager.network-control",
	"org.freedesktop.NetworkManager.checkpoint-rollback",
	"org.freedesktop.NetworkManager.wifi.share.protected",
	"org.freedesktop.hostname1.set-static-hostname",
];
const REFUSED = [
	"org.freedesktop.NetworkManager.settings.modify.own",
	"org.freedesktop.NetworkManager.settings.modify.hostname",
	"org.freedesktop.NetworkManager.settings.modify.global-dns",
	"org.freedesktop.NetworkManager.enable-disable-network",
	"org.freedesktop.NetworkManager.enable-disable-wifi",
	"org.freedesktop.NetworkManager.wifi.share.open",
	"org.freedesktop.NetworkManager.reload",
	"org.freedesktop.NetworkManager.sleep-wake",
	"org.freedesktop.hostname1.set-hostname",
	"org.freedesktop.login1.reboot",
	"org.freedesktop.systemd1.manage-units",
];

const rules = [];
const polkit = {
	Result: { YES: "yes", NO: "no", AUTH_ADMIN: "auth_admin", NOT_HANDLED: null },
	addRule: fn => rules.push(fn),
	log: () => {},
};
vm.runInNewContext(fs.readFileSync(process.argv[2], "utf8"), { polkit: polkit });

function decide(id, user) {
	for (const fn of rules) {
		const r = fn({ id: id, lookup: () => undefined }, { user: user, local: false, active: false });
		if (r !== null && r !== undefined) return r;
	}
	return null;
}

let n = 0, failed = 0;
function ok(cond, what) {
	n++;
	if (!cond) failed++;
	console.log((cond ? "ok " : "not ok ") + n + " - " + what);
}

ok(rules.length === 1, "one rule");
for (const id of GRANTED) ok(decide(id, "smartconnect") === "yes", "smartconnect: " + id + " granted");
for (const id of REFUSED) ok(decide(id, "smartconnect") === null, "smartconnect: " + id + " left to polkit's defaults");
for (const user of ["root", "nobody", "smartconnect2", "avahi"])
	ok(GRANTED.every(id => decide(id, user) === null), user + ": nothing granted");
console.log("1.." + n);
process.exitCode = failed ? 1 : 0;
