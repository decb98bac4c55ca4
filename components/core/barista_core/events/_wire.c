/* barista_core.events._wire: a serialised EventBatch straight to canonical event JSON, for batches whose
 * every event is valid.
 *
 * encode_batch(data, now_ms, received_at, types, limits) takes the request bytes as they came off the wire
 * and returns (batch_id, ids, types, encoded): the ids as sent, the event types, and each event's canonical
 * JSON, byte for byte what EventValidator.check produces for it. It returns None as soon as anything is not
 * the plain, valid case: an invalid or duplicate event, something this code does not convert (\u escapes,
 * characters JSON must escape, big or exponent numbers where a kind is checked, Struct numbers repr writes
 * with an exponent, a map key sent twice, ...), or a malformed message. The caller then takes the Python
 * path, which is the reference: it decides what is rejected and why. So this code may decline anything,
 * but whatever it accepts must be accepted by the Python path with the same bytes
 * (tests/core/test_event_wire.py holds it to that on generated batches).
 *
 * Wire format: https://protobuf.dev/programming-guides/encoding/ (barista/events/v1/events.proto).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *p;
    Py_ssize_t n;
} span;

/* ---- protobuf wire format ------------------------------------------------------------------------------ */

static int read_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
    const uint8_t *p = *pp;
    uint64_t value = 0;
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
        uint8_t byte = *p++;
        value |= (uint64_t)(byte & 0x7F) << shift;
        if (!(byte & 0x80)) {
            *pp = p;
            *out = value;
            return 1;
        }
    }
    return 0;
}

/* One field: its number, wire type and, for a length-delimited one, its bytes. 0 at a malformed field. */
static int read_field(const uint8_t **pp, const uint8_t *end, uint32_t *number, int *wire, span *bytes,
                      uint64_t *varint) {
    uint64_t tag;
    if (!read_varint(pp, end, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF) return 0;
    *number = (uint32_t)(tag >> 3);
    *wire = (int)(tag & 7);
    switch (*wire) {
    case 0:
        return read_varint(pp, end, varint);
    case 1:
        if (end - *pp < 8) return 0;
        *pp += 8;
        return 1;
    case 5:
        if (end - *pp < 4) return 0;
        *pp += 4;
        return 1;
    case 2: {
        uint64_t size;
        if (!read_varint(pp, end, &size) || size > (uint64_t)(end - *pp)) return 0;
        bytes->p = *pp;
        bytes->n = (Py_ssize_t)size;
        *pp += size;
        return 1;
    }
    default: /* groups: not in this schema */
        return 0;
    }
}

/* A cursor over the fields of one message: next_field() reads the next into number, wire and bytes (a
 * length-delimited field) or varint (a varint field). */
typedef struct {
    const uint8_t *p, *end;
    uint32_t number;
    int wire;
    span bytes;
    uint64_t varint;
} field_cursor;

static field_cursor fields_of(const uint8_t *p, Py_ssize_t n) {
    field_cursor c = {p, p + n, 0, 0, {NULL, 0}, 0};
    return c;
}

/* 1: a field was read; 0: the message has ended; -1: it is malformed. */
static int next_field(field_cursor *c) {
    if (c->p >= c->end) return 0;
    c->bytes.p = NULL;
    c->bytes.n = 0;
    c->varint = 0;
    return read_field(&c->p, c->end, &c->number, &c->wire, &c->bytes, &c->varint) ? 1 : -1;
}

/* ---- text ---------------------------------------------------------------------------------------------- */

/* Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF): the number of code points, or -1. */
static Py_ssize_t utf8_length(const uint8_t *s, Py_ssize_t n) {
    Py_ssize_t count = 0, i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i += 1;
        } else if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return -1;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (i + 2 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return -1;
            if (c == 0xE0 && s[i + 1] < 0xA0) return -1; /* overlong */
            if (c == 0xED && s[i + 1] > 0x9F) return -1; /* surrogate */
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (i + 3 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
                return -1;
            if (c == 0xF0 && s[i + 1] < 0x90) return -1; /* overlong */
            if (c == 0xF4 && s[i + 1] > 0x8F) return -1; /* above U+10FFFF */
            i += 4;
        } else {
            return -1;
        }
        count++;
    }
    return count;
}

static char *put(char *out, const char *text, size_t n) {
    if (n) memcpy(out, text, n); /* an unset field's span has no pointer */
    return out + n;
}

/* A string JSON can hold between quotes as it is (orjson escapes '"', '\\' and controls; we decline those,
 * and DEL, rather than copy orjson's escapes). Returns its code point count, or -1. */
static Py_ssize_t plain_text(span s) {
    for (Py_ssize_t i = 0; i < s.n; i++) {
        uint8_t c = s.p[i];
        if (c < 0x20 || c == '"' || c == '\\' || c == 0x7F) return -1;
    }
    return utf8_length(s.p, s.n);
}

static int is_hex(uint8_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Crockford base32 as ULIDs spell it: 0-9 and A-Z without I, L, O, U, either case. */
static int is_ulid_char(uint8_t c) {
    if (c >= '0' && c <= '9') return 1;
    if (c >= 'a' && c <= 'z') c -= 32;
    return c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U';
}

/* The canonical spelling of an id (UUID lower-case, ULID upper-case) into out; 0 if it is neither. */
static int normalise_id(span id, uint8_t *out) {
    if (id.n == 36) {
        for (int i = 0; i < 36; i++) {
            uint8_t c = id.p[i];
            if (i == 8 || i == 13 || i == 18 || i == 23) {
                if (c != '-') return 0;
            } else {
                if (!is_hex(c)) return 0;
                if (c >= 'A' && c <= 'F') c += 32;
            }
            out[i] = c;
        }
        return 1;
    }
    if (id.n == 26) {
        if (id.p[0] < '0' || id.p[0] > '7') return 0;
        for (int i = 0; i < 26; i++) {
            uint8_t c = id.p[i];
            if (!is_ulid_char(c)) return 0;
            out[i] = (c >= 'a' && c <= 'z') ? (uint8_t)(c - 32) : c;
        }
        return 1;
    }
    return 0;
}

/* ^[a-z0-9_-]+(\.[a-z0-9_-]+)+\Z, at most max_length bytes */
static int is_type_name(span s, Py_ssize_t max_length) {
    if (s.n == 0 || s.n > max_length) return 0;
    int dots = 0, run = 0;
    for (Py_ssize_t i = 0; i < s.n; i++) {
        uint8_t c = s.p[i];
        if (c == '.') {
            if (run == 0) return 0;
            dots++;
            run = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
            run++;
        } else {
            return 0;
        }
    }
    return dots > 0 && run > 0;
}

/* ---- JSON (properties_json) --------------------------------------------------------------------------- */

enum value_kind { K_NULL, K_EMPTY_STRING, K_STRING, K_INT, K_FLOAT, K_BOOL, K_OBJECT, K_ARRAY };

typedef struct {
    const uint8_t *p, *end;
    int depth, max_depth;
} json_scan;

static void skip_ws(json_scan *js) {
    while (js->p < js->end && (*js->p == ' ' || *js->p == '\t' || *js->p == '\n' || *js->p == '\r')) js->p++;
}

/* A string at js->p (the opening quote): its raw content in out. Declines \u escapes (surrogate rules). */
static int scan_string(json_scan *js, span *out) {
    const uint8_t *start = ++js->p;
    while (js->p < js->end) {
        uint8_t c = *js->p;
        if (c == '"') {
            out->p = start;
            out->n = js->p - start;
            js->p++;
            return 1;
        }
        if (c < 0x20) return 0;
        if (c == '\\') {
            if (js->p + 1 >= js->end) return 0;
            uint8_t e = js->p[1];
            if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't')
                return 0;
            js->p += 2;
            continue;
        }
        if (c < 0x80) {
            js->p++;
            continue;
        }
        Py_ssize_t width = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (js->end - js->p < width || utf8_length(js->p, width) != 1) return 0;
        js->p += width;
    }
    return 0;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, declining what orjson would turn into infinity or a
 * float from an integer (more than 18 digits). */
static int scan_number(json_scan *js, enum value_kind *kind) {
    const uint8_t *p = js->p, *end = js->end;
    if (p < end && *p == '-') p++;
    if (p >= end) return 0;
    const uint8_t *digits = p;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') p++;
    } else {
        return 0;
    }
    if (p - digits > 18) return 0;
    *kind = K_INT;
    if (p < end && *p == '.') {
        p++;
        const uint8_t *fraction = p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == fraction || p - fraction > 17) return 0;
        *kind = K_FLOAT;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        const uint8_t *exponent = p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == exponent || p - exponent > 2) return 0;
        *kind = K_FLOAT;
    }
    js->p = p;
    return 1;
}

static int scan_literal(json_scan *js, const char *word, Py_ssize_t n) {
    if (js->end - js->p < n || memcmp(js->p, word, (size_t)n) != 0) return 0;
    js->p += n;
    return 1;
}

/* Entering a container at js->p (its opening bracket): 0 when that nests deeper than allowed. */
static int open_container(json_scan *js) {
    if (++js->depth > js->max_depth) return 0;
    js->p++;
    skip_ws(js);
    return 1;
}

/* At a container's closing bracket ``close``: step past it and out of the container. */
static int close_container(json_scan *js, uint8_t close) {
    if (js->p >= js->end || *js->p != close) return 0;
    js->p++;
    js->depth--;
    return 1;
}

/* After a member or element: 1 at a comma (another follows), 2 at the container's end, 0 otherwise. */
static int after_item(json_scan *js, uint8_t close) {
    skip_ws(js);
    if (js->p < js->end && *js->p == ',') {
        js->p++;
        return 1;
    }
    return close_container(js, close) ? 2 : 0;
}

#define MAX_REQUIRED 8

typedef struct {
    span name;
    int kind;
} required_property;

static int scan_value(json_scan *js, enum value_kind *kind);

/* An object at js->p. At the top level (required != NULL) it notes the kind of each required property. */
static int scan_object(json_scan *js, const required_property *required, int n_required,
                       enum value_kind *found, int *members) {
    if (!open_container(js)) return 0;
    *members = 0;
    if (close_container(js, '}')) return 1;
    for (;;) {
        span key;
        enum value_kind kind;
        skip_ws(js);
        if (js->p >= js->end || *js->p != '"' || !scan_string(js, &key)) return 0;
        skip_ws(js);
        if (js->p >= js->end || *js->p != ':') return 0;
        js->p++;
        skip_ws(js);
        if (!scan_value(js, &kind)) return 0;
        (*members)++;
        for (int i = 0; i < n_required; i++) {
            if (key.n == required[i].name.n && memcmp(key.p, required[i].name.p, (size_t)key.n) == 0) {
                if (found[i] != K_NULL) return 0; /* named twice: orjson keeps the last; let Python decide */
                found[i] = kind == K_NULL ? (enum value_kind)-1 : kind;
            }
        }
        int next = after_item(js, '}');
        if (next != 1) return next == 2;
    }
}

static int scan_array(json_scan *js) {
    if (!open_container(js)) return 0;
    if (close_container(js, ']')) return 1;
    for (;;) {
        enum value_kind kind;
        skip_ws(js);
        if (!scan_value(js, &kind)) return 0;
        int next = after_item(js, ']');
        if (next != 1) return next == 2;
    }
}

static int scan_value(json_scan *js, enum value_kind *kind) {
    if (js->p >= js->end) return 0;
    switch (*js->p) {
    case '{': {
        int members;
        *kind = K_OBJECT;
        return scan_object(js, NULL, 0, NULL, &members);
    }
    case '[':
        *kind = K_ARRAY;
        return scan_array(js);
    case '"': {
        span s;
        if (!scan_string(js, &s)) return 0;
        *kind = s.n ? K_STRING : K_EMPTY_STRING;
        return 1;
    }
    case 't':
        *kind = K_BOOL;
        return scan_literal(js, "true", 4);
    case 'f':
        *kind = K_BOOL;
        return scan_literal(js, "false", 5);
    case 'n':
        *kind = K_NULL;
        return scan_literal(js, "null", 4);
    default:
        return scan_number(js, kind);
    }
}

/* The kinds of catalogue.PropertyKind, in the order the Python side numbers them. */
enum { R_STRING, R_NUMBER, R_INTEGER, R_BOOLEAN, R_OBJECT, R_ARRAY, R_ANY };

static int kind_satisfies(enum value_kind kind, int wanted) {
    switch (wanted) {
    case R_STRING: return kind == K_STRING;
    case R_NUMBER: return kind == K_INT || kind == K_FLOAT;
    case R_INTEGER: return kind == K_INT; /* 2.0 is whole too, but Python decides that one */
    case R_BOOLEAN: return kind == K_BOOL;
    case R_OBJECT: return kind == K_OBJECT;
    case R_ARRAY: return kind == K_ARRAY;
    case R_ANY: return kind != K_NULL && kind != (enum value_kind)-1;
    default: return 0;
    }
}

/* ---- Struct properties ---------------------------------------------------------------------------------- */

/* google.protobuf.Struct, Value and ListValue (struct.proto) to the JSON the Python path makes of them:
 * convert.struct_to_dict (keys in sorted order, whole numbers within +-2^53 as ints) and orjson.dumps. Declined:
 * numbers repr writes with an exponent (orjson spells the small ones otherwise: 1e-05 as 0.00001, 1e-07 as
 * 1e-7), what Python decides otherwise (NaN and infinities, a key twice, a Value with two kinds, fields
 * struct.proto does not have), strings JSON must escape, and JSON past max_properties_bytes or nested deeper
 * than max_properties_depth. UTF-8 sorts by its bytes as Python sorts str, by code point. */

typedef struct {
    char *p;
    Py_ssize_t n, cap, limit;
} text_buffer;

/* 0 past the buffer's limit (the Python path decides: too large) or out of memory (MemoryError set). */
static int append(text_buffer *b, const void *text, Py_ssize_t n) {
    if (n > b->limit - b->n) return 0;
    if (b->n + n > b->cap) {
        Py_ssize_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        char *grown = PyMem_Realloc(b->p, (size_t)cap);
        if (grown == NULL) {
            PyErr_NoMemory();
            return 0;
        }
        b->p = grown;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, text, (size_t)n);
    b->n += n;
    return 1;
}

static int append_text(text_buffer *b, span s) {
    return plain_text(s) >= 0 && append(b, "\"", 1) && append(b, s.p, s.n) && append(b, "\"", 1);
}

/* A double as Python writes it after convert: an int when whole within +-2^53, else repr (declined with an
 * exponent, or not finite). */
static int append_number(text_buffer *b, const uint8_t *little_endian) {
    uint64_t bits = 0;
    for (int i = 7; i >= 0; i--) bits = bits << 8 | little_endian[i];
    double value;
    memcpy(&value, &bits, sizeof value);
    if (!isfinite(value)) return 0;
    if (value == floor(value) && fabs(value) <= 9007199254740992.0) {
        char text[24];
        int n = snprintf(text, sizeof text, "%lld", (long long)value);
        return append(b, text, n);
    }
    char *text = PyOS_double_to_string(value, 'r', 0, Py_DTSF_ADD_DOT_0, NULL); /* as repr() */
    if (text == NULL) return 0;
    int ok = strchr(text, 'e') == NULL && append(b, text, (Py_ssize_t)strlen(text));
    PyMem_Free(text);
    return ok;
}

static int append_struct(text_buffer *b, span bytes, int remaining);
static int append_list(text_buffer *b, span bytes, int remaining);

/* A Value inside a container that may still hold ``remaining`` levels (its own included). */
static int append_value(text_buffer *b, span bytes, int remaining) {
    field_cursor f = fields_of(bytes.p, bytes.n);
    int more, fields = 0;
    uint32_t kind = 0;
    const uint8_t *number = NULL;
    span inner = {NULL, 0};
    uint64_t flag = 0;
    for (; (more = next_field(&f)) > 0; fields++) {
        if (fields) return 0; /* a second kind, or one twice: protobuf keeps the last, Python decides */
        kind = f.number;
        inner = f.bytes;
        flag = f.varint;
        if (kind == 1 || kind == 4) {
            if (f.wire != 0) return 0;
        } else if (kind == 2) {
            if (f.wire != 1) return 0;
            number = f.p - 8;
        } else if (kind == 3 || kind == 5 || kind == 6) {
            if (f.wire != 2) return 0;
        } else {
            return 0;
        }
    }
    if (more < 0) return 0;
    switch (kind) {
    case 0: /* no kind set: None */
    case 1: return append(b, "null", 4);
    case 2: return append_number(b, number);
    case 3: return append_text(b, inner);
    case 4: return flag ? append(b, "true", 4) : append(b, "false", 5);
    case 5: return append_struct(b, inner, remaining - 1);
    default: return append_list(b, inner, remaining - 1);
    }
}

static int append_list(text_buffer *b, span bytes, int remaining) {
    if (remaining <= 0 || !append(b, "[", 1)) return 0;
    field_cursor f = fields_of(bytes.p, bytes.n);
    int more, n = 0;
    while ((more = next_field(&f)) > 0) {
        if (f.number != 1 || f.wire != 2 || (n++ && !append(b, ",", 1)) || !append_value(b, f.bytes, remaining))
            return 0;
    }
    return more == 0 && append(b, "]", 1);
}

typedef struct {
    span key, value;
} map_entry;

static int compare_keys(const void *a, const void *b) {
    const span *x = &((const map_entry *)a)->key, *y = &((const map_entry *)b)->key;
    int order = x->n && y->n ? memcmp(x->p, y->p, (size_t)(x->n < y->n ? x->n : y->n)) : 0;
    return order ? order : (x->n > y->n) - (x->n < y->n);
}

/* One map entry: its key (1) and value (2), each at most once; a missing one is its default. */
static int read_entry(span bytes, map_entry *entry) {
    field_cursor f = fields_of(bytes.p, bytes.n);
    int more, has_key = 0, has_value = 0;
    entry->key.p = entry->value.p = NULL;
    entry->key.n = entry->value.n = 0;
    while ((more = next_field(&f)) > 0) {
        if (f.wire != 2) return 0;
        if (f.number == 1 && !has_key++) entry->key = f.bytes;
        else if (f.number == 2 && !has_value++) entry->value = f.bytes;
        else return 0;
    }
    return more == 0;
}

#define FEW_ENTRIES 16

/* The entries of the map field ``number`` of a message, sorted by key, into ``few`` or, when there are more,
 * memory the caller frees with PyMem_Free. 0 when an entry is malformed, a key comes twice (protobuf keeps the
 * last one: Python decides) or, unless ``others`` allows them, the message has other fields. */
static int sorted_map(span message, uint32_t number, int others, map_entry few[FEW_ENTRIES], map_entry **entries,
                      Py_ssize_t *count) {
    field_cursor f = fields_of(message.p, message.n);
    Py_ssize_t n = 0;
    int more;
    while ((more = next_field(&f)) > 0) {
        if (f.number == number && f.wire == 2) n++;
        else if (!others) return 0;
    }
    if (more < 0) return 0;
    map_entry *out = few;
    if (n > FEW_ENTRIES && (out = PyMem_Malloc((size_t)n * sizeof *out)) == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    int ok = 1;
    Py_ssize_t i = 0;
    f = fields_of(message.p, message.n);
    while (ok && i < n && next_field(&f) > 0) {
        if (f.number == number && f.wire == 2) ok = read_entry(f.bytes, &out[i++]);
    }
    if (ok && n > 1) {
        qsort(out, (size_t)n, sizeof *out, compare_keys);
        for (i = 1; ok && i < n; i++) ok = compare_keys(&out[i - 1], &out[i]) != 0;
    }
    if (!ok) {
        if (out != few) PyMem_Free(out);
        return 0;
    }
    *entries = out;
    *count = n;
    return 1;
}

static int append_struct(text_buffer *b, span bytes, int remaining) {
    map_entry few[FEW_ENTRIES], *entries;
    Py_ssize_t count;
    if (remaining <= 0 || !sorted_map(bytes, 1, 0, few, &entries, &count)) return 0;
    int ok = append(b, "{", 1);
    for (Py_ssize_t i = 0; ok && i < count; i++) {
        ok = (!i || append(b, ",", 1)) && append_text(b, entries[i].key) && append(b, ":", 1) &&
             append_value(b, entries[i].value, remaining);
    }
    ok = ok && append(b, "}", 1);
    if (entries != few) PyMem_Free(entries);
    return ok;
}

/* ---- time ---------------------------------------------------------------------------------------------- */

static char *digits(char *out, int64_t value, int width) {
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + value % 10);
        value /= 10;
    }
    return out + width;
}

/* 2026-11-28T10:00:00.123Z of epoch milliseconds (days to civil date: H. Hinnant's algorithm); 0 outside
 * the years 1000-9999, where strftime's %Y would not write four digits. */
static int format_ms(int64_t ms, char out[24]) {
    int64_t seconds = ms / 1000, millis = ms % 1000;
    if (millis < 0) {
        millis += 1000;
        seconds -= 1;
    }
    int64_t days = seconds / 86400, rest = seconds % 86400;
    if (rest < 0) {
        rest += 86400;
        days -= 1;
    }
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t year = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1;
    int64_t month = mp < 10 ? mp + 3 : mp - 9;
    if (month <= 2) year += 1;
    if (year < 1000 || year > 9999) return 0;
    char *p = digits(out, year, 4);
    *p++ = '-';
    p = digits(p, month, 2);
    *p++ = '-';
    p = digits(p, day, 2);
    *p++ = 'T';
    p = digits(p, rest / 3600, 2);
    *p++ = ':';
    p = digits(p, rest / 60 % 60, 2);
    *p++ = ':';
    p = digits(p, rest % 60, 2);
    *p++ = '.';
    p = digits(p, millis, 3);
    *p = 'Z';
    return 1;
}

/* ---- one event ----------------------------------------------------------------------------------------- */

static const char *CONTEXT_NAMES[10] = {
    NULL, "app_name", "app_version", "platform", "os_version", "locale", "ip", "user_agent", "page_url", "referrer",
};

typedef struct {
    Py_ssize_t max_identifier_length, max_properties_bytes, max_context_bytes, max_context_value, max_type_length;
    int max_properties_depth;
    int64_t oldest_ms, newest_ms;
} limits;

typedef struct {
    span bytes;      /* the EventContext as sent */
    PyObject *json;  /* its canonical JSON (bytes) */
} context_memo;

typedef struct {
    span name;
    PyObject *type;   /* str */
    PyObject *events; /* list of the batch's encoded events of this type, in order */
    required_property required[MAX_REQUIRED];
    int n_required;
} type_memo;

#define MAX_CONTEXTS 16
#define MAX_TYPES 256 /* distinct types in one batch; more: the Python path */

typedef struct {
    const limits *limits;
    PyObject *catalogue; /* str -> tuple of (bytes name, int kind) */
    context_memo contexts[MAX_CONTEXTS];
    int n_contexts, next_context;
    type_memo types[MAX_TYPES];
    int n_types;
    PyObject *seen; /* set of canonical ids */
    const char *received_at;
    text_buffer properties; /* the JSON of the current event's Struct properties */
} batch_state;

/* The canonical JSON of an EventContext, or NULL (declined; no Python error set). */
static PyObject *context_json(batch_state *st, span bytes) {
    for (int i = 0; i < st->n_contexts; i++) {
        if (st->contexts[i].bytes.n == bytes.n && memcmp(st->contexts[i].bytes.p, bytes.p, (size_t)bytes.n) == 0)
            return st->contexts[i].json;
    }
    span fields[10] = {{0}};
    field_cursor f = fields_of(bytes.p, bytes.n);
    int more;
    while ((more = next_field(&f)) > 0) {
        if (f.number < 1 || f.number > 10 || f.wire != 2) return NULL; /* fields this version does not know */
        if (f.number < 10) fields[f.number] = f.bytes;                  /* proto3: the last one wins */
    }
    if (more < 0) return NULL;
    Py_ssize_t size = 2;
    int n = 0;
    for (int f = 1; f <= 9; f++) {
        if (fields[f].n == 0) continue;
        Py_ssize_t length = plain_text(fields[f]);
        if (length < 0 || length > st->limits->max_context_value) return NULL;
        size += (Py_ssize_t)strlen(CONTEXT_NAMES[f]) + fields[f].n + 5 + (n ? 1 : 0); /* "name":"value" */
        n++;
    }
    /* extra (10, a map of strings, written last as Python's ListFields order has it, keys sorted) */
    map_entry few[FEW_ENTRIES], *extra;
    Py_ssize_t n_extra;
    if (!sorted_map(bytes, 10, 1, few, &extra, &n_extra)) return NULL;
    if (n_extra) size += (n ? 1 : 0) + 10 + (n_extra - 1); /* "extra":{…} and the commas within */
    for (Py_ssize_t i = 0; i < n_extra; i++) {
        if (plain_text(extra[i].key) < 0 || plain_text(extra[i].value) < 0) size = PY_SSIZE_T_MAX;
        else size += extra[i].key.n + extra[i].value.n + 5;
        if (size > st->limits->max_context_bytes) break;
    }
    PyObject *json = size > st->limits->max_context_bytes ? NULL : PyBytes_FromStringAndSize(NULL, size);
    if (json == NULL) {
        if (extra != few) PyMem_Free(extra);
        return NULL;
    }
    char *out = PyBytes_AS_STRING(json);
    *out++ = '{';
    n = 0;
    for (int f = 1; f <= 9; f++) {
        if (fields[f].n == 0) continue;
        if (n++) *out++ = ',';
        *out++ = '"';
        size_t name_length = strlen(CONTEXT_NAMES[f]);
        memcpy(out, CONTEXT_NAMES[f], name_length);
        out += name_length;
        memcpy(out, "\":\"", 3);
        out += 3;
        memcpy(out, fields[f].p, (size_t)fields[f].n);
        out += fields[f].n;
        *out++ = '"';
    }
    if (n_extra) {
        out = put(out, n ? ",\"extra\":{" : "\"extra\":{", n ? 10 : 9);
        for (Py_ssize_t i = 0; i < n_extra; i++) {
            if (i) *out++ = ',';
            *out++ = '"';
            out = put(out, (const char *)extra[i].key.p, (size_t)extra[i].key.n);
            out = put(out, "\":\"", 3);
            out = put(out, (const char *)extra[i].value.p, (size_t)extra[i].value.n);
            *out++ = '"';
        }
        *out++ = '}';
    }
    if (extra != few) PyMem_Free(extra);
    *out++ = '}';
    if (out - PyBytes_AS_STRING(json) != size) {
        Py_DECREF(json);
        PyErr_SetString(PyExc_AssertionError, "_wire: context size mismatch");
        return NULL;
    }
    /* remembered for the events after this one; when the memo is full (a batch of many users, each with
     * their own ip or user agent) the oldest entry makes room: its JSON was already copied out */
    int slot;
    if (st->n_contexts < MAX_CONTEXTS) {
        slot = st->n_contexts++;
    } else {
        slot = st->next_context++ % MAX_CONTEXTS;
        Py_DECREF(st->contexts[slot].json);
    }
    st->contexts[slot].bytes = bytes;
    st->contexts[slot].json = json;
    return json;
}

/* The type's memo (its str and required properties), or NULL: not a catalogue or well-formed custom type. */
static type_memo *type_of(batch_state *st, span name) {
    for (int i = 0; i < st->n_types; i++) {
        if (st->types[i].name.n == name.n && memcmp(st->types[i].name.p, name.p, (size_t)name.n) == 0)
            return &st->types[i];
    }
    if (st->n_types == MAX_TYPES || !is_type_name(name, st->limits->max_type_length)) return NULL;
    PyObject *text = PyUnicode_FromStringAndSize((const char *)name.p, name.n);
    if (text == NULL) return NULL;
    type_memo *memo = &st->types[st->n_types];
    memo->n_required = 0;
    PyObject *required = PyDict_GetItemWithError(st->catalogue, text); /* borrowed */
    if (required == NULL) {
        if (PyErr_Occurred() || name.n < 8 || memcmp(name.p, "custom.", 7) != 0) {
            Py_DECREF(text);
            return NULL;
        }
    } else {
        if (!PyTuple_Check(required) || PyTuple_GET_SIZE(required) > MAX_REQUIRED) {
            Py_DECREF(text);
            return NULL;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(required); i++) {
            PyObject *item = PyTuple_GET_ITEM(required, i);
            if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2 || !PyBytes_Check(PyTuple_GET_ITEM(item, 0))) {
                Py_DECREF(text);
                return NULL;
            }
            memo->required[i].name.p = (const uint8_t *)PyBytes_AS_STRING(PyTuple_GET_ITEM(item, 0));
            memo->required[i].name.n = PyBytes_GET_SIZE(PyTuple_GET_ITEM(item, 0));
            memo->required[i].kind = (int)PyLong_AsLong(PyTuple_GET_ITEM(item, 1));
        }
        memo->n_required = (int)PyTuple_GET_SIZE(required);
    }
    memo->events = PyList_New(0);
    if (memo->events == NULL) {
        Py_DECREF(text);
        return NULL;
    }
    memo->name = name;
    memo->type = text;
    st->n_types++;
    return memo;
}

typedef struct {
    span id, type, user_id, session_id, device_id, properties, properties_json, context;
    int has_timestamp, has_context, has_properties;
    int64_t seconds, nanos;
} event_fields;

static int read_timestamp(span bytes, event_fields *e) {
    field_cursor f = fields_of(bytes.p, bytes.n);
    int more;
    e->seconds = e->nanos = 0;
    while ((more = next_field(&f)) > 0) {
        if (f.number == 1 && f.wire == 0) e->seconds = (int64_t)f.varint;
        else if (f.number == 2 && f.wire == 0) e->nanos = (int64_t)(int32_t)f.varint;
        else return 0;
    }
    return more == 0 && e->nanos >= 0 && e->nanos < 1000000000 && e->seconds > 0 && e->seconds < ((int64_t)1 << 40);
}

static int read_event(span bytes, event_fields *e) {
    memset(e, 0, sizeof(*e));
    field_cursor f = fields_of(bytes.p, bytes.n);
    int more;
    while ((more = next_field(&f)) > 0) {
        if (f.wire != 2) return 0;
        span value = f.bytes;
        switch (f.number) {
        case 1: e->id = value; break;
        case 2: e->type = value; break;
        case 3:
            if (e->has_timestamp++) return 0; /* a repeated message field merges: leave it to Python */
            if (!read_timestamp(value, e)) return 0;
            break;
        case 4: e->user_id = value; break;
        case 5: e->session_id = value; break;
        case 6: e->device_id = value; break;
        case 7:
            if (e->has_properties++) return 0;
            e->properties = value;
            break;
        case 8:
            if (e->has_context++) return 0;
            e->context = value;
            break;
        case 9: e->properties_json = value; break;
        default: return 0;
        }
    }
    return more == 0;
}

/* The canonical JSON of one event (appended to encoded; its raw id and type to ids and types), or 0. */
static int encode_event(batch_state *st, span bytes, PyObject *ids, PyObject *types, PyObject *encoded) {
    event_fields e;
    if (!read_event(bytes, &e) || !e.has_timestamp) return 0;
    uint8_t canonical_id[36];
    if (!normalise_id(e.id, canonical_id)) return 0;
    type_memo *type = type_of(st, e.type);
    if (type == NULL) return 0;
    int64_t occurred = e.seconds * 1000 + e.nanos / 1000000;
    if (occurred < st->limits->oldest_ms || occurred > st->limits->newest_ms) return 0;
    const span identifiers[3] = {e.user_id, e.session_id, e.device_id};
    for (int i = 0; i < 3; i++) {
        Py_ssize_t length = plain_text(identifiers[i]);
        if (length < 0 || length > st->limits->max_identifier_length) return 0;
    }

    span properties = {(const uint8_t *)"{}", 2};
    if (e.has_properties) {
        if (e.properties_json.n) return 0; /* both set: Python says which it takes or why it rejects */
        text_buffer *json = &st->properties;
        json->n = 0;
        json->limit = st->limits->max_properties_bytes;
        if (!append_struct(json, e.properties, st->limits->max_properties_depth)) return 0;
        e.properties_json.p = (const uint8_t *)json->p; /* then checked as if sent so: kinds, depth */
        e.properties_json.n = json->n;
    }
    if (e.properties_json.n) {
        if (e.properties_json.n > st->limits->max_properties_bytes) return 0;
        json_scan js = {e.properties_json.p, e.properties_json.p + e.properties_json.n, 0,
                        st->limits->max_properties_depth};
        enum value_kind found[MAX_REQUIRED] = {K_NULL};
        int members;
        skip_ws(&js);
        if (js.p >= js.end || *js.p != '{') return 0;
        if (!scan_object(&js, type->required, type->n_required, found, &members)) return 0;
        skip_ws(&js);
        if (js.p != js.end) return 0;
        if (members) properties = e.properties_json; /* embedded as sent, as the Python path does */
        for (int i = 0; i < type->n_required; i++) {
            if (!kind_satisfies(found[i], type->required[i].kind)) return 0;
        }
    } else if (type->n_required) {
        return 0;
    }

    span context = {(const uint8_t *)"{}", 2};
    if (e.context.n) {
        PyObject *json = context_json(st, e.context);
        if (json == NULL) return 0;
        context.p = (const uint8_t *)PyBytes_AS_STRING(json);
        context.n = PyBytes_GET_SIZE(json);
    }

    /* a duplicate id within the batch is a rejection (Python's) */
    PyObject *key = PyUnicode_FromStringAndSize((const char *)canonical_id, e.id.n);
    if (key == NULL) return 0;
    int duplicate = PySet_Contains(st->seen, key);
    if (duplicate != 0 || PySet_Add(st->seen, key) < 0) {
        Py_DECREF(key);
        return 0;
    }
    PyObject *raw_id = memcmp(canonical_id, e.id.p, (size_t)e.id.n) == 0
                           ? (Py_INCREF(key), key)
                           : PyUnicode_FromStringAndSize((const char *)e.id.p, e.id.n);
    Py_DECREF(key);
    if (raw_id == NULL) return 0;

    char occurred_text[24];
    if (!format_ms(occurred, occurred_text)) {
        Py_DECREF(raw_id);
        return 0;
    }
    Py_ssize_t size = 8 + e.id.n                            /* {"id":"…" */
                      + 10 + e.type.n                       /* ,"type":"…" */
                      + 41                                  /* ,"occurred_at":"<24>" */
                      + 41                                  /* ,"received_at":"<24>" */
                      + 13 + e.user_id.n + 16 + e.session_id.n + 15 + e.device_id.n
                      + 14 + properties.n + 11 + context.n + 1;
    PyObject *json = PyBytes_FromStringAndSize(NULL, size);
    if (json == NULL) {
        Py_DECREF(raw_id);
        return 0;
    }
    char *out = PyBytes_AS_STRING(json);
    out = put(out, "{\"id\":\"", 7);
    out = put(out, (const char *)canonical_id, (size_t)e.id.n);
    out = put(out, "\",\"type\":\"", 10);
    out = put(out, (const char *)e.type.p, (size_t)e.type.n);
    out = put(out, "\",\"occurred_at\":\"", 17);
    out = put(out, occurred_text, 24);
    out = put(out, "\",\"received_at\":\"", 17);
    out = put(out, st->received_at, 24);
    out = put(out, "\",\"user_id\":\"", 13);
    out = put(out, (const char *)e.user_id.p, (size_t)e.user_id.n);
    out = put(out, "\",\"session_id\":\"", 16);
    out = put(out, (const char *)e.session_id.p, (size_t)e.session_id.n);
    out = put(out, "\",\"device_id\":\"", 15);
    out = put(out, (const char *)e.device_id.p, (size_t)e.device_id.n);
    out = put(out, "\",\"properties\":", 15);
    out = put(out, (const char *)properties.p, (size_t)properties.n);
    out = put(out, ",\"context\":", 11);
    out = put(out, (const char *)context.p, (size_t)context.n);
    *out++ = '}';
    if (out - PyBytes_AS_STRING(json) != size) { /* the size sum above and the writes disagree: a bug here */
        Py_DECREF(json);
        Py_DECREF(raw_id);
        PyErr_SetString(PyExc_AssertionError, "_wire: encoded size mismatch");
        return 0;
    }
    int failed = PyList_Append(ids, raw_id) < 0 || PyList_Append(types, type->type) < 0 ||
                 PyList_Append(encoded, json) < 0 || PyList_Append(type->events, json) < 0;
    Py_DECREF(raw_id);
    Py_DECREF(json);
    return !failed;
}

/* ---- the answer ---------------------------------------------------------------------------------------- */

static Py_ssize_t varint_size(uint64_t value) {
    Py_ssize_t size = 1;
    while (value > 0x7F) {
        value >>= 7;
        size++;
    }
    return size;
}

static char *put_varint(char *out, uint64_t value) {
    while (value > 0x7F) {
        *out++ = (char)((value & 0x7F) | 0x80);
        value >>= 7;
    }
    *out++ = (char)value;
    return out;
}

typedef struct {
    const char *id, *reason, *field;
    Py_ssize_t id_n, reason_n, field_n, size;
    uint64_t code;
} status_view;

static Py_ssize_t text_field_size(Py_ssize_t n) { return n ? 1 + varint_size((uint64_t)n) + n : 0; }

static int view_status(PyObject *item, status_view *v) {
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 4) {
        PyErr_SetString(PyExc_TypeError, "a status is an EventStatus (id, code, reason, field)");
        return 0;
    }
    PyObject *code = PyTuple_GET_ITEM(item, 1);
    long long value = PyLong_AsLongLong(code);
    if (value == -1 && PyErr_Occurred()) return 0;
    v->code = (uint64_t)(int64_t)(int32_t)value; /* an enum is an int32 on the wire */
    if (!(v->id = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(item, 0), &v->id_n))) return 0;
    if (!(v->reason = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(item, 2), &v->reason_n))) return 0;
    if (!(v->field = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(item, 3), &v->field_n))) return 0;
    v->size = text_field_size(v->id_n) + (v->code ? 1 + varint_size(v->code) : 0) + text_field_size(v->reason_n) +
              text_field_size(v->field_n);
    return 1;
}

static char *put_text_field(char *out, char tag, const char *text, Py_ssize_t n) {
    if (!n) return out;
    *out++ = tag;
    out = put_varint(out, (uint64_t)n);
    memcpy(out, text, (size_t)n);
    return out + n;
}

/* The repeated ``statuses`` field of a PublishResponse, as protobuf would serialise it. */
static PyObject *encode_statuses(PyObject *module, PyObject *statuses) {
    if (!PyList_Check(statuses)) {
        PyErr_SetString(PyExc_TypeError, "statuses must be a list");
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(statuses), total = 0;
    status_view v;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!view_status(PyList_GET_ITEM(statuses, i), &v)) return NULL;
        total += 1 + varint_size((uint64_t)v.size) + v.size;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL) return NULL;
    char *p = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!view_status(PyList_GET_ITEM(statuses, i), &v)) {
            Py_DECREF(out);
            return NULL;
        }
        *p++ = 0x0a;
        p = put_varint(p, (uint64_t)v.size);
        p = put_text_field(p, 0x0a, v.id, v.id_n);
        if (v.code) {
            *p++ = 0x10;
            p = put_varint(p, v.code);
        }
        p = put_text_field(p, 0x1a, v.reason, v.reason_n);
        p = put_text_field(p, 0x22, v.field, v.field_n);
    }
    if (p - PyBytes_AS_STRING(out) != total) { /* the list changed under us (it cannot: no Python code ran) */
        Py_DECREF(out);
        PyErr_SetString(PyExc_AssertionError, "_wire: statuses size mismatch");
        return NULL;
    }
    return out;
}

/* The repeated ``statuses`` field of a PublishResponse where every event has the same code and reason: one
 * status per id of ``ids`` (what encode_statuses would write for those statuses, without building them). */
static PyObject *encode_uniform_statuses(PyObject *module, PyObject *args) {
    PyObject *ids;
    long long code_value;
    const char *reason;
    Py_ssize_t reason_n;
    if (!PyArg_ParseTuple(args, "O!Ls#", &PyList_Type, &ids, &code_value, &reason, &reason_n)) return NULL;
    uint64_t code = (uint64_t)(int64_t)(int32_t)code_value;
    Py_ssize_t count = PyList_GET_SIZE(ids), total = 0;
    Py_ssize_t fixed = (code ? 1 + varint_size(code) : 0) + text_field_size(reason_n);
    const char *id;
    Py_ssize_t id_n;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!(id = PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(ids, i), &id_n))) return NULL;
        Py_ssize_t size = text_field_size(id_n) + fixed;
        total += 1 + varint_size((uint64_t)size) + size;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL) return NULL;
    char *p = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < count; i++) {
        id = PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(ids, i), &id_n); /* cached by the first pass */
        *p++ = 0x0a;
        p = put_varint(p, (uint64_t)(text_field_size(id_n) + fixed));
        p = put_text_field(p, 0x0a, id, id_n);
        if (code) {
            *p++ = 0x10;
            p = put_varint(p, code);
        }
        p = put_text_field(p, 0x1a, reason, reason_n);
    }
    if (p - PyBytes_AS_STRING(out) != total) {
        Py_DECREF(out);
        PyErr_SetString(PyExc_AssertionError, "_wire: uniform statuses size mismatch");
        return NULL;
    }
    return out;
}

/* ---- the module ---------------------------------------------------------------------------------------- */

static PyObject *encode_batch(PyObject *module, PyObject *args) {
    Py_buffer data;
    long long now_ms;
    const char *received_at;
    Py_ssize_t received_at_length;
    PyObject *catalogue;
    limits lim;
    long long max_age_ms, max_future_skew_ms;
    if (!PyArg_ParseTuple(args, "y*Ls#O!(LLnnnnni)", &data, &now_ms, &received_at, &received_at_length,
                          &PyDict_Type, &catalogue, &max_age_ms, &max_future_skew_ms, &lim.max_identifier_length,
                          &lim.max_properties_bytes, &lim.max_context_bytes, &lim.max_context_value,
                          &lim.max_type_length, &lim.max_properties_depth))
        return NULL;
    if (received_at_length != 24) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "received_at must be a 24-character timestamp");
        return NULL;
    }
    lim.oldest_ms = now_ms - max_age_ms;
    lim.newest_ms = now_ms + max_future_skew_ms;

    batch_state st;
    memset(&st, 0, sizeof(st));
    st.limits = &lim;
    st.catalogue = catalogue;
    st.received_at = received_at;
    PyObject *ids = PyList_New(0), *types = PyList_New(0), *encoded = PyList_New(0);
    st.seen = PySet_New(NULL);
    PyObject *result = NULL;
    span batch_id = {(const uint8_t *)"", 0};
    int ok = ids && types && encoded && st.seen;
    field_cursor f = fields_of(data.buf, data.len);
    int more = 0;
    while (ok && (more = next_field(&f)) > 0) {
        if (f.wire != 2 || f.number > 2) ok = 0;
        else if (f.number == 1) ok = encode_event(&st, f.bytes, ids, types, encoded);
        else batch_id = f.bytes;
    }
    ok = ok && more == 0;
    if (ok && utf8_length(batch_id.p, batch_id.n) >= 0) {
        PyObject *batch_text = PyUnicode_FromStringAndSize((const char *)batch_id.p, batch_id.n);
        PyObject *groups = PyDict_New(); /* type -> its events, types in order of first appearance */
        for (int i = 0; groups != NULL && i < st.n_types; i++) {
            if (PyDict_SetItem(groups, st.types[i].type, st.types[i].events) < 0) Py_CLEAR(groups);
        }
        if (batch_text != NULL && groups != NULL) result = PyTuple_Pack(5, batch_text, ids, types, encoded, groups);
        Py_XDECREF(batch_text);
        Py_XDECREF(groups);
    }
    for (int i = 0; i < st.n_contexts; i++) Py_DECREF(st.contexts[i].json);
    for (int i = 0; i < st.n_types; i++) {
        Py_DECREF(st.types[i].type);
        Py_DECREF(st.types[i].events);
    }
    Py_XDECREF(ids);
    Py_XDECREF(types);
    Py_XDECREF(encoded);
    Py_XDECREF(st.seen);
    PyMem_Free(st.properties.p);
    PyBuffer_Release(&data);
    if (result == NULL) {
        if (PyErr_Occurred()) return NULL;
        Py_RETURN_NONE;
    }
    return result;
}

static PyMethodDef methods[] = {
    {"encode_batch", encode_batch, METH_VARARGS,
     "encode_batch(data, now_ms, received_at, catalogue, limits) -> (batch_id, ids, types, encoded, groups) | None"},
    {"encode_statuses", encode_statuses, METH_O,
     "encode_statuses(statuses) -> the repeated statuses field of a PublishResponse, serialised"},
    {"encode_uniform_statuses", encode_uniform_statuses, METH_VARARGS,
     "encode_uniform_statuses(ids, code, reason) -> encode_statuses of one (id, code, reason, '') per id"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_wire", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__wire(void) { return PyModule_Create(&module); }
