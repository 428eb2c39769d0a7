// SPDX-License-Identifier: MIT
// The shipped polkit rule, evaluated as polkitd evaluates it: the smartconnect
// user gets exactly the authorizations the network management needs and the
// start of the two update units, nobody else gets anything from it. node test-polkit.js RULES-FILE; TAP on stdout.
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

// details: what systemd passes for manage-units (unit, verb), else nothing.
function decide(id, user, details) {
	const lookup = k => (details || {})[k];
	for (const fn of rules) {
		const r = fn({ id: id, lookup: lookup }, { user: user, local: false, active: false });
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

// systemd's manage-units: only "start", only the two update units.
const MU = "org.freedesktop.systemd1.manage-units";
const UNITS = ["smartconnect-update.service", "smartconnect-update-check.service"];
for (const unit of UNITS) {
	ok(decide(MU, "smartconnect", { unit: unit, verb: "start" }) === "yes", "smartconnect: start " + unit + " granted");
	for (const verb of ["stop", "restart", "reload", "kill", "reset-failed", "enable", "", undefined])
		ok(decide(MU, "smartconnect", { unit: unit, verb: verb }) === null,
		   "smartconnect: " + verb + " " + unit + " left to polkit's defaults");
	for (const user of ["root", "nobody", "smartconnect2"])
		ok(decide(MU, user, { unit: unit, verb: "start" }) === null, user + ": start " + unit + " not granted");
}
for (const unit of ["smartconnect.service", "ssh.service", "smartconnect-update.service.d",
	"smartconnect-update@x.service", "SMARTCONNECT-UPDATE.SERVICE", "smartconnect-update.timer",
	"apt-daily-upgrade.service", "", undefined])
	ok(decide(MU, "smartconnect", { unit: unit, verb: "start" }) === null,
	   "smartconnect: start " + unit + " left to polkit's defaults");
for (const id of ["org.freedesktop.systemd1.manage-unit-files", "org.freedesktop.systemd1.reload-daemon",
	"org.freedesktop.systemd1.set-environment"])
	ok(decide(id, "smartconnect", { unit: UNITS[0], verb: "start" }) === null, "smartconnect: " + id + " left to polkit's defaults");
console.log("1.." + n);
process.exitCode = failed ? 1 : 0;
