/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the data model: object table, number parsing, unit scaling, hex
 * text. Hand-written parsers instead of strtod/sscanf: they are locale free,
 * exact (no binary floating point before the final division) and cheap enough
 * for the per-telegram instruction budget.
 */
#include <errno.h>
#include <string.h>

#include "smartconnectd/values.h"

void mv_reset(struct meter_values *v)
{
        /* text[] and its length are left alone: the framer has just filled them. */
        uint16_t len = v->text_len;

        memset(v, 0, offsetof(struct meter_values, objects));
        v->text_len = len;
}

static const char *const field_names[_MV_FIELD_MAX] = {
        [MV_P] = "P",     [MV_E_IMPORT] = "E_IMPORT", [MV_E_EXPORT] = "E_EXPORT",
        [MV_U12] = "U12", [MV_U31] = "U31",           [MV_U32] = "U32",
        [MV_U1] = "U1",   [MV_U2] = "U2",             [MV_U3] = "U3",
        [MV_I1] = "I1",   [MV_I2] = "I2",             [MV_I3] = "I3",
        [MV_P1] = "P1",   [MV_P2] = "P2",             [MV_P3] = "P3",
};

const char *mv_field_to_string(enum mv_field f)
{
        return (unsigned) f < _MV_FIELD_MAX ? field_names[f] : NULL;
}

static const char *const protocol_names[_MV_PROTO_MAX] = {
        [MV_PROTO_NONE] = "none",
        [MV_PROTO_DSMR] = "dsmr",
        [MV_PROTO_TIC_HISTORIQUE] = "tic-historique",
        [MV_PROTO_TIC_STANDARD] = "tic-standard",
};

const char *mv_protocol_to_string(enum mv_protocol p)
{
        return (unsigned) p < _MV_PROTO_MAX ? protocol_names[p] : NULL;
}

enum mv_protocol mv_protocol_from_string(const char *s)
{
        for (unsigned i = 0; i < _MV_PROTO_MAX; i++)
                if (strcmp(s, protocol_names[i]) == 0)
                        return (enum mv_protocol) i;
        return _MV_PROTO_MAX;
}

int mv_add_object(struct meter_values *v, uint16_t id_off, uint16_t id_len)
{
        if (v->n_objects >= MV_OBJECTS_MAX)
                return -ENOBUFS;

        v->objects[v->n_objects] = (struct mv_object){
                .id = { id_off, id_len },
                .first = v->n_values,
        };
        return v->n_objects++;
}

int mv_add_value(struct meter_values *v, uint16_t off, uint16_t len)
{
        if (v->n_values >= MV_VALUES_MAX || v->n_objects == 0)
                return -ENOBUFS;

        v->values[v->n_values++] = (struct mv_span){ off, len };
        v->objects[v->n_objects - 1].count++;
        return 0;
}

const struct mv_object *mv_find(const struct meter_values *v, const char *id)
{
        size_t n = strlen(id);

        for (unsigned i = 0; i < v->n_objects; i++) {
                const struct mv_object *o = &v->objects[i];
                if (o->id.len == n && memcmp(v->text + o->id.off, id, n) == 0)
                        return o;
        }
        return NULL;
}

int mv_parse_number(const char *s, size_t n, struct mv_number *ret)
{
        const char *p = s, *end = s + n;
        int64_t mant = 0;
        unsigned decimals = 0, significant = 0, digits = 0;
        bool neg = false, point = false;

        if (p < end && (*p == '-' || *p == '+'))
                neg = *p++ == '-';

        for (; p < end; p++) {
                if (*p >= '0' && *p <= '9') {
                        digits++;
                        if ((mant != 0 || *p != '0') && ++significant > 18)
                                return -ERANGE;
                        mant = mant * 10 + (*p - '0');
                        decimals += point;
                } else if (*p == '.' && !point)
                        point = true;
                else
                        break;
        }

        /* At least one digit, and no bare trailing decimal point ("12."). */
        if (digits == 0 || p[-1] == '.')
                return -EINVAL;

        if (p < end && *p == '*')
                p++;
        for (const char *u = p; u < end; u++)
                if (!((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') || (*u >= '0' && *u <= '9')))
                        return -EINVAL;

        *ret = (struct mv_number){
                .mant = neg ? -mant : mant,
                .decimals = decimals,
                .unit = p,
                .unit_len = (size_t) (end - p),
        };
        return 0;
}

static bool unit_is(const char *u, size_t n, const char *name)
{
        size_t k = strlen(name);

        if (n != k)
                return false;
        for (size_t i = 0; i < n; i++) {
                char a = u[i], b = name[i];
                if (a >= 'A' && a <= 'Z')
                        a = (char) (a - 'A' + 'a');
                if (b >= 'A' && b <= 'Z')
                        b = (char) (b - 'A' + 'a');
                if (a != b)
                        return false;
        }
        return true;
}

/* Power of ten by which a value in `unit` must be multiplied to give millionths
 * of the quantity's base unit; -100 when the unit belongs to another quantity. */
static int unit_exponent(enum mv_quantity q, const char *u, size_t n)
{
        static const struct {
                enum mv_quantity q;
                const char *unit;
                int exp;
        } table[] = {
                { MV_Q_POWER, "W", 6 },      { MV_Q_POWER, "kW", 9 },    { MV_Q_POWER, "MW", 12 },
                { MV_Q_POWER, "VA", 6 },     { MV_Q_POWER, "kVA", 9 },   { MV_Q_ENERGY, "Wh", 3 },
                { MV_Q_ENERGY, "kWh", 6 },   { MV_Q_ENERGY, "MWh", 9 },  { MV_Q_VOLT, "V", 6 },
                { MV_Q_VOLT, "kV", 9 },      { MV_Q_VOLT, "mV", 3 },     { MV_Q_AMPERE, "A", 6 },
                { MV_Q_AMPERE, "mA", 3 },    { MV_Q_AMPERE, "kA", 9 },
        };

        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                if (table[i].q == q && unit_is(u, n, table[i].unit))
                        return table[i].exp;
        return -100;
}

int mv_scale(const struct mv_number *num, enum mv_quantity q, const char *default_unit, int64_t *ret_micro)
{
        int exp = num->unit_len ? unit_exponent(q, num->unit, num->unit_len)
                                : unit_exponent(q, default_unit, strlen(default_unit));
        int64_t v = num->mant;

        if (exp == -100)
                return -EINVAL;

        exp -= (int) num->decimals;
        for (; exp > 0; exp--) {
                if (v > INT64_MAX / 10 || v < INT64_MIN / 10)
                        return -ERANGE;
                v *= 10;
        }
        for (; exp < 0; exp++) {
                /* Finer than a millionth: round half away from zero. */
                int64_t r = v % 10;
                v /= 10;
                if (r >= 5)
                        v++;
                else if (r <= -5)
                        v--;
        }

        *ret_micro = v;
        return 0;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int mv_hex_to_text(const char *s, size_t n, char *ret, size_t ret_size)
{
        size_t k = 0;

        if (n % 2 || ret_size == 0)
                return -EINVAL;

        for (size_t i = 0; i < n; i += 2) {
                int hi = hexval(s[i]), lo = hexval(s[i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;

                int c = hi << 4 | lo;
                if (c < 0x20 || c > 0x7e)
                        return -EINVAL;
                if (k + 1 < ret_size)
                        ret[k++] = (char) c;
        }
        ret[k] = '\0';
        return (int) k;
}
