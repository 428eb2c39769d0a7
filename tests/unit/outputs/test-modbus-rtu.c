/* SPDX-License-Identifier: MIT */
/*
 * The frame gap of the RTU server: 3.5 character times of start, 8 data,
 * parity and stop bits, rounded up to the microsecond, and the specification's
 * fixed 1.75 ms above 19200 baud.
 */
#include "smartconnectd/outputs/modbus-rtu.h"
#include "tap.h"

int main(void)
{
	TAP_EQ_INT(modbus_rtu_gap_usec(9600, 'N', 1), 3646, "9600 8N1: 3.5 x 10 bits");
	TAP_EQ_INT(modbus_rtu_gap_usec(9600, 'E', 1), 4011, "9600 8E1: 3.5 x 11 bits");
	TAP_EQ_INT(modbus_rtu_gap_usec(9600, 'N', 2), 4011, "9600 8N2: 3.5 x 11 bits");
	TAP_EQ_INT(modbus_rtu_gap_usec(1200, 'O', 2), 35000, "1200 8O2: 3.5 x 12 bits");
	TAP_EQ_INT(modbus_rtu_gap_usec(19200, 'N', 1), 1823, "19200 8N1: still 3.5 characters");
	TAP_EQ_INT(modbus_rtu_gap_usec(38400, 'E', 1), 1750, "38400: the fixed 1.75 ms");
	TAP_EQ_INT(modbus_rtu_gap_usec(115200, 'N', 1), 1750, "115200: the fixed 1.75 ms");
	return tap_done();
}
