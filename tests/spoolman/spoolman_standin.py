#!/usr/bin/env python3
# Spoolman stand-in: an in-memory HTTP fake of the Spoolman REST API v1 (0.22.1 / 0.26.1) with fault injection, for tests.
"""Spoolman stand-in for Spoolkeeper's integration tests and demo.

Answers like a real Spoolman (shapes, status codes and messages from docs/spoolman-api.md and the
OpenAPI documents of 0.22.1 and 0.26.1), keeps everything in memory, and injects faults on demand
through a private control API under /_control.  Python 3 standard library only.

Usage: spoolman_standin.py [--host 127.0.0.1] [--port 0] [--version 0.26.1|0.22.1] [--seed FILE]
                           [--user U --password P] [--base-path /spoolman] [--control-port N]
                           [--keepalive-timeout 5] [--log-max 20000] [--verbose]

Prints "LISTENING <port>" on stdout once the API socket is bound (and "CONTROL <port>" just before
it when --control-port is given).  SIGTERM or SIGINT exits cleanly with status 0.
See tests/spoolman/README.md for what is faithful, what is simplified, and the control API.
"""

import argparse
import base64
import copy
import json
import math
import re
import signal
import socket
import struct
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

VERSIONS = ("0.22.1", "0.26.1")
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
FAULT_MODES = ("none", "refuse", "500", "apply_then_drop", "delay", "404", "not_json")
MISSING = object()


# --------------------------------------------------------------------------------------------
# Spoolman maths (spoolman/math.py), kept operation for operation so floats match bit for bit.

def weight_from_length(*, length, diameter, density):
    volume_mm3 = length * math.pi * (diameter / 2) ** 2
    volume_cm3 = volume_mm3 / 1000
    return density * volume_cm3


def length_from_weight(*, weight, diameter, density):
    volume_cm3 = weight / density
    volume_mm3 = volume_cm3 * 1000
    return volume_mm3 / (math.pi * (diameter / 2) ** 2)


# --------------------------------------------------------------------------------------------
# Time helpers.  Stored as aware UTC datetimes; printed as ISO 8601 with "Z".

def now_utc():
    return datetime.now(timezone.utc).replace(microsecond=0)


def fmt_dt(dt):
    if dt is None:
        return None
    return dt.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "Z"


def parse_dt(value):
    """Parse an ISO 8601 string (a missing offset means UTC). Raises ValueError."""
    s = value.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


# --------------------------------------------------------------------------------------------
# Responses.

class Response:
    def __init__(self, status, body=b"", content_type=None, headers=None):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = list(headers or [])
        self.after = None           # control API: an action to run once the response is sent


def json_bytes(obj):
    # Starlette's JSONResponse.render: compact, UTF-8, and NaN/Infinity refused.
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, indent=None,
                      separators=(",", ":")).encode("utf-8")


def r_json(status, obj, headers=None):
    try:
        body = json_bytes(obj)
    except ValueError:
        # A non-finite float somewhere in the payload: real Spoolman fails the same way.
        return r_500()
    return Response(status, body, "application/json", headers)


def r_500():
    return Response(500, b"Internal Server Error", "text/plain; charset=utf-8")


def r_msg(status, message):
    return r_json(status, {"message": message})


def r_not_found():
    return r_json(404, {"detail": "Not Found"})


def r_422(errors):
    return r_json(422, {"detail": errors})


def r_unimplemented():
    return r_json(501, {"detail": "Not implemented by the Spoolman stand-in"})


# --------------------------------------------------------------------------------------------
# A small pydantic-v2-shaped validator: enough of its lax coercions and error shapes.

def verr(type_, loc, msg, input_, ctx=None):
    e = {"type": type_, "loc": list(loc), "msg": msg, "input": input_}
    if ctx is not None:
        e["ctx"] = ctx
    return e


def _chars(n):
    return "character" if n == 1 else "characters"


def _expected(choices):
    q = ["'%s'" % c for c in choices]
    return q[0] if len(q) == 1 else ", ".join(q[:-1]) + " or " + q[-1]


class F:
    """One field: kind is float|int|str|bool|datetime|enum|dict_str|list_str."""

    def __init__(self, kind, required=False, nullable=True, ge=None, gt=None, max_len=None,
                 min_len=None, pattern=None, choices=None, null_values=False, not_none_msg=None):
        self.kind = kind
        self.required = required
        self.nullable = nullable
        self.ge = ge
        self.gt = gt
        self.max_len = max_len
        self.min_len = min_len
        self.pattern = pattern
        self.choices = choices
        self.null_values = null_values        # dict_str: values may be null
        self.not_none_msg = not_none_msg      # a field_validator refusing an explicit null


def coerce(f, v, loc, errs):
    """Validate one value. Returns the coerced value, or MISSING after appending errors."""
    if v is None:
        if f.not_none_msg:
            errs.append(verr("value_error", loc, "Value error, " + f.not_none_msg, None, {"error": {}}))
            return MISSING
        if f.nullable:
            return None
    k = f.kind
    if k == "float":
        if isinstance(v, (bool, int, float)):
            out = float(v)
        elif isinstance(v, str):
            try:
                out = float(v.strip())
            except ValueError:
                errs.append(verr("float_parsing", loc,
                                 "Input should be a valid number, unable to parse string as a number", v))
                return MISSING
        else:
            errs.append(verr("float_type", loc, "Input should be a valid number", v))
            return MISSING
        if f.ge is not None and not out >= f.ge:
            errs.append(verr("greater_than_equal", loc, "Input should be greater than or equal to %s" % f.ge,
                             v, {"ge": f.ge}))
            return MISSING
        if f.gt is not None and not out > f.gt:
            errs.append(verr("greater_than", loc, "Input should be greater than %s" % f.gt, v, {"gt": f.gt}))
            return MISSING
        return out
    if k == "int":
        if isinstance(v, bool):
            out = int(v)
        elif isinstance(v, int):
            out = v
        elif isinstance(v, float):
            if not math.isfinite(v):
                errs.append(verr("finite_number", loc, "Input should be a finite number", v))
                return MISSING
            if not v.is_integer():
                errs.append(verr("int_from_float", loc,
                                 "Input should be a valid integer, got a number with a fractional part", v))
                return MISSING
            out = int(v)
        elif isinstance(v, str):
            if not re.fullmatch(r"\s*[+-]?\d+\s*", v):
                errs.append(verr("int_parsing", loc,
                                 "Input should be a valid integer, unable to parse string as an integer", v))
                return MISSING
            out = int(v)
        else:
            errs.append(verr("int_type", loc, "Input should be a valid integer", v))
            return MISSING
        if f.ge is not None and not out >= f.ge:
            errs.append(verr("greater_than_equal", loc, "Input should be greater than or equal to %s" % f.ge,
                             v, {"ge": f.ge}))
            return MISSING
        return out
    if k == "str":
        if not isinstance(v, str):
            errs.append(verr("string_type", loc, "Input should be a valid string", v))
            return MISSING
        if f.min_len is not None and len(v) < f.min_len:
            errs.append(verr("string_too_short", loc, "String should have at least %d %s" % (f.min_len, _chars(f.min_len)),
                             v, {"min_length": f.min_len}))
            return MISSING
        if f.max_len is not None and len(v) > f.max_len:
            errs.append(verr("string_too_long", loc, "String should have at most %d %s" % (f.max_len, _chars(f.max_len)),
                             v, {"max_length": f.max_len}))
            return MISSING
        if f.pattern is not None and not re.search(f.pattern, v):
            errs.append(verr("string_pattern_mismatch", loc, "String should match pattern '%s'" % f.pattern,
                             v, {"pattern": f.pattern}))
            return MISSING
        return v
    if k == "bool":
        if isinstance(v, bool):
            return v
        if isinstance(v, (int, float)) and v in (0, 1):
            return bool(v)
        if isinstance(v, str):
            s = v.strip().lower()
            if s in ("1", "on", "t", "true", "y", "yes"):
                return True
            if s in ("0", "off", "f", "false", "n", "no"):
                return False
            errs.append(verr("bool_parsing", loc, "Input should be a valid boolean, unable to interpret input", v))
            return MISSING
        if isinstance(v, (int, float)):
            errs.append(verr("bool_parsing", loc, "Input should be a valid boolean, unable to interpret input", v))
            return MISSING
        errs.append(verr("bool_type", loc, "Input should be a valid boolean", v))
        return MISSING
    if k == "datetime":
        if isinstance(v, str):
            try:
                return parse_dt(v)
            except ValueError:
                errs.append(verr("datetime_from_date_parsing", loc,
                                 "Input should be a valid datetime or date, invalid character in year", v,
                                 {"error": "invalid character in year"}))
                return MISSING
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            try:
                return datetime.fromtimestamp(v, timezone.utc)
            except (OverflowError, ValueError, OSError):
                pass
        errs.append(verr("datetime_type", loc, "Input should be a valid datetime", v))
        return MISSING
    if k == "enum":
        if v in f.choices and isinstance(v, str):
            return v
        exp = _expected(f.choices)
        errs.append(verr("enum", loc, "Input should be " + exp, v, {"expected": exp}))
        return MISSING
    if k == "dict_str":
        if not isinstance(v, dict):
            errs.append(verr("dict_type", loc, "Input should be a valid dictionary", v))
            return MISSING
        out = {}
        ok = True
        for key, val in v.items():
            if val is None and f.null_values:
                out[key] = None
            elif isinstance(val, str):
                out[key] = val
            else:
                errs.append(verr("string_type", list(loc) + [key], "Input should be a valid string", val))
                ok = False
        return out if ok else MISSING
    if k == "list_str":
        if not isinstance(v, list):
            errs.append(verr("list_type", loc, "Input should be a valid list", v))
            return MISSING
        ok = True
        for i, item in enumerate(v):
            if not isinstance(item, str):
                errs.append(verr("string_type", list(loc) + [i], "Input should be a valid string", item))
                ok = False
        if ok and f.min_len is not None and len(v) < f.min_len:
            errs.append(verr("too_short", loc, "List should have at least %d item after validation, not %d"
                             % (f.min_len, len(v)), v, {"field_type": "List", "min_length": f.min_len,
                                                        "actual_length": len(v)}))
            ok = False
        return list(v) if ok else MISSING
    raise AssertionError(k)


def validate_model(model, body, errs, loc=("body",)):
    """Validate a JSON body against a model (list of (name, F)); returns the fields that were set."""
    if body is None:
        errs.append(verr("missing", loc, "Field required", None))
        return None
    if not isinstance(body, dict):
        errs.append(verr("model_attributes_type", loc,
                         "Input should be a valid dictionary or object to extract fields from", body))
        return None
    out = {}
    for name, f in model:
        if name not in body:
            if f.required:
                errs.append(verr("missing", list(loc) + [name], "Field required", body))
            continue
        v = coerce(f, body[name], list(loc) + [name], errs)
        if v is not MISSING:
            out[name] = v
    return out


def spool_model(version, update):
    extra = F("dict_str", null_values=(version != "0.22.1"))
    fid = (F("int", not_none_msg="Value must not be None.") if update
           else F("int", required=True, nullable=False))
    return [
        ("first_used", F("datetime")), ("last_used", F("datetime")), ("filament_id", fid),
        ("price", F("float", ge=0)), ("initial_weight", F("float", ge=0)), ("spool_weight", F("float", ge=0)),
        ("remaining_weight", F("float", ge=0)), ("used_weight", F("float", ge=0)),
        ("location", F("str", max_len=64)), ("lot_nr", F("str", max_len=64)), ("comment", F("str", max_len=1024)),
        ("archived", F("bool", nullable=False)), ("extra", extra),
    ]


USE_MODEL = [("use_length", F("float")), ("use_weight", F("float"))]
MEASURE_MODEL = [("weight", F("float", required=True, nullable=False))]
COLOR_DIRECTIONS = ["coaxial", "longitudinal"]


def filament_model(version, update):
    extra = F("dict_str", null_values=(version != "0.22.1"))
    return [
        ("name", F("str", max_len=64)), ("vendor_id", F("int")), ("material", F("str", max_len=64)),
        ("price", F("float", ge=0)),
        ("density", F("float", gt=0, required=not update, nullable=False)),
        ("diameter", F("float", gt=0, required=not update, nullable=False)),
        ("weight", F("float", gt=0)), ("spool_weight", F("float", ge=0)),
        ("article_number", F("str", max_len=64)), ("comment", F("str", max_len=1024)),
        ("settings_extruder_temp", F("int", ge=0)), ("settings_bed_temp", F("int", ge=0)),
        ("color_hex", F("str")), ("multi_color_hexes", F("str")),
        ("multi_color_direction", F("enum", choices=COLOR_DIRECTIONS)),
        ("external_id", F("str", max_len=256)), ("extra", extra),
    ]


def vendor_model(version, update):
    extra = F("dict_str", null_values=(version != "0.22.1"))
    return [
        ("name", F("str", max_len=64, required=not update, nullable=False)),
        ("comment", F("str", max_len=1024)), ("empty_spool_weight", F("float", ge=0)),
        ("external_id", F("str", max_len=256)), ("extra", extra),
    ]


FIELD_TYPES = ["text", "integer", "integer_range", "float", "float_range", "datetime", "boolean", "choice"]
ENTITY_TYPES = ["vendor", "filament", "spool"]
EXTRA_FIELD_MODEL = [
    ("name", F("str", required=True, nullable=False, min_len=1, max_len=128)),
    ("order", F("int", nullable=False)),
    ("unit", F("str", min_len=1, max_len=16)),
    ("field_type", F("enum", required=True, nullable=False, choices=FIELD_TYPES)),
    ("default_value", F("str")),
    ("choices", F("list_str")),
    ("multi_choice", F("bool")),
]


# --------------------------------------------------------------------------------------------
# Extra fields (spoolman/extra_fields.py).

def validate_extra_value(field, value):
    if len(value) > 65535:
        raise ValueError("Value is too big, max size is 65535 characters.")
    try:
        data = json.loads(value)
    except ValueError:
        raise ValueError("Value is not valid JSON.") from None
    t = field["field_type"]

    def is_num(x):
        return isinstance(x, (int, float)) and not isinstance(x, bool)

    if t in ("text", "datetime"):
        if not isinstance(data, str):
            raise ValueError("Value is not a string.")
    elif t == "integer":
        if not isinstance(data, int) or isinstance(data, bool):
            raise ValueError("Value is not an integer.")
    elif t == "float":
        if not is_num(data):
            raise ValueError("Value is not a float.")
    elif t in ("integer_range", "float_range"):
        if not isinstance(data, list):
            raise ValueError("Value is not a list.")
        if len(data) != 2:
            raise ValueError("Value list must have exactly two values.")
        if t == "integer_range" and not all((isinstance(x, int) and not isinstance(x, bool)) or x is None
                                            for x in data):
            raise ValueError("Value list must contain only integers or null.")
        if t == "float_range" and not all(is_num(x) or x is None for x in data):
            raise ValueError("Value list must contain only floats or null.")
    elif t == "boolean":
        if not isinstance(data, bool):
            raise ValueError("Value is not a boolean.")
    elif t == "choice":
        choices = field.get("choices")
        if field.get("multi_choice"):
            if not isinstance(data, list):
                raise ValueError("Value is not a list.")
            if not all(isinstance(x, str) for x in data):
                raise ValueError("Value list must contain only strings.")
            if choices is not None and not all(x in choices for x in data):
                raise ValueError("Value list contains invalid choices.")
        else:
            if not isinstance(data, str):
                raise ValueError("Value is not a string.")
            if choices is not None and data not in choices:
                raise ValueError("Value is not a valid choice.")


def validate_extra_dict(defs, extra):
    lookup = {d["key"]: d for d in defs}
    for key, value in extra.items():
        if key not in lookup:
            raise ValueError("Unknown extra field %s." % key)
        if value is None:
            continue
        try:
            validate_extra_value(lookup[key], value)
        except ValueError as e:
            raise ValueError("Invalid extra field for key %s: %s" % (key, e)) from None


def merge_extra(target, extra):
    for k, v in extra.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = v


def extra_field_out(d):
    keys = ("name", "order", "unit", "field_type", "default_value", "choices", "multi_choice", "key", "entity_type")
    return {k: d[k] for k in keys if d.get(k) is not None}


# --------------------------------------------------------------------------------------------
# Store: vendors, filaments, spools and extra-field definitions, in memory.

def default_dataset():
    reg = "2025-01-01T00:00:00Z"
    vendors = [
        {"id": 1, "registered": reg, "name": "Bambu Lab", "empty_spool_weight": 250.0, "extra": {}},
        {"id": 2, "registered": reg, "name": "Polymaker", "empty_spool_weight": 140.0, "extra": {}},
    ]
    fil = [
        (1, "PLA Basic Black", 1, "PLA", 1.24, "000000", 220, 55),
        (2, "PLA Basic White", 1, "PLA", 1.24, "FFFFFF", 220, 55),
        (3, "PETG HF Blue", 1, "PETG", 1.27, "0A2CA5", 250, 70),
        (4, "PolyLite PETG Grey", 2, "PETG", 1.27, "8E9089", 240, 70),
    ]
    filaments = []
    for fid, name, vid, mat, dens, color, ext, bed in fil:
        filaments.append({
            "id": fid, "registered": reg, "name": name, "vendor_id": vid, "material": mat, "price": 20.0,
            "density": dens, "diameter": 1.75, "weight": 1000.0,
            "spool_weight": 250.0 if vid == 1 else 140.0, "settings_extruder_temp": ext,
            "settings_bed_temp": bed, "color_hex": color, "extra": {}})
    spools = []
    for sid in range(1, 5):
        f = filaments[sid - 1]
        spools.append({
            "id": sid, "registered": reg, "filament_id": f["id"], "initial_weight": 1000.0,
            "spool_weight": f["spool_weight"], "used_weight": 0.0, "location": "AMS 1", "archived": False,
            "extra": {"tag": json.dumps("04A1B2C3D%d" % sid)} if sid == 1 else {}})
    fields = {"spool": [{"name": "RFID tag", "order": 0, "field_type": "text", "key": "tag", "entity_type": "spool"}],
              "filament": [], "vendor": []}
    return {"vendors": vendors, "filaments": filaments, "spools": spools, "fields": fields}


def _setting_list(value):
    """An extra_fields_* setting as a list: a list, a JSON string, or the {"value": "..."} /setting shape."""
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return value if isinstance(value, list) else []


def dataset_from_seed(data):
    """Build a dataset from a GET /api/v1/spool list, or a wrapper object holding one under "spools"."""
    settings = {}
    if isinstance(data, dict):
        settings = data.get("settings") or {}
        spool_list = data.get("spools")
        if not isinstance(spool_list, list):
            raise ValueError("seed: an object must hold a \"spools\" list")
    elif isinstance(data, list):
        spool_list = data
    else:
        raise ValueError("seed: expected a list of spools or an object with \"spools\"")
    vendors, filaments, spools = {}, {}, []
    vkeys = ("id", "registered", "name", "comment", "empty_spool_weight", "external_id", "extra")
    fkeys = ("id", "registered", "name", "material", "price", "density", "diameter", "weight", "spool_weight",
             "article_number", "comment", "settings_extruder_temp", "settings_bed_temp", "color_hex",
             "multi_color_hexes", "multi_color_direction", "external_id", "extra")
    skeys = ("id", "registered", "first_used", "last_used", "price", "initial_weight", "spool_weight",
             "used_weight", "location", "lot_nr", "comment", "archived", "extra")
    for s in spool_list:
        f = s["filament"]
        v = f.get("vendor")
        if v is not None and v["id"] not in vendors:
            vendors[v["id"]] = {k: v[k] for k in vkeys if k in v}
        if f["id"] not in filaments:
            fd = {k: f[k] for k in fkeys if k in f}
            fd["vendor_id"] = v["id"] if v is not None else None
            filaments[f["id"]] = fd
        sd = {k: s[k] for k in skeys if k in s}    # derived fields and foreign keys (cost_per_gram) dropped
        sd["filament_id"] = f["id"]
        spools.append(sd)
    fields = {}
    for ent in ENTITY_TYPES:
        defs = _setting_list(settings.get("extra_fields_" + ent))
        fields[ent] = [dict(d, entity_type=ent) for d in defs if isinstance(d, dict) and "key" in d]
    # Keys used in the data but never defined get an inferred definition, so writes to them validate.
    for ent, items in (("spool", spools), ("filament", filaments.values()), ("vendor", vendors.values())):
        known = {d["key"] for d in fields[ent]}
        for item in items:
            for key, raw in (item.get("extra") or {}).items():
                if key in known:
                    continue
                try:
                    val = json.loads(raw)
                except (TypeError, ValueError):
                    val = ""
                ftype = ("boolean" if isinstance(val, bool) else "integer" if isinstance(val, int)
                         else "float" if isinstance(val, float) else "text")
                fields[ent].append({"name": key, "order": len(fields[ent]), "field_type": ftype,
                                    "key": key, "entity_type": ent})
                known.add(key)
    return {"vendors": list(vendors.values()), "filaments": list(filaments.values()), "spools": spools,
            "fields": fields}


class Store:
    def __init__(self, dataset):
        self.vendors, self.filaments, self.spools = {}, {}, {}
        self.fields = {e: [dict(d, entity_type=e) for d in dataset["fields"].get(e, [])] for e in ENTITY_TYPES}

        def dt(x):
            return parse_dt(x) if isinstance(x, str) else x

        def num(x):
            return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else x

        for v in dataset["vendors"]:
            v = copy.deepcopy(v)
            v["registered"] = dt(v.get("registered")) or now_utc()
            v["empty_spool_weight"] = num(v.get("empty_spool_weight"))
            v.setdefault("extra", {})
            self.vendors[v["id"]] = v
        for f in dataset["filaments"]:
            f = copy.deepcopy(f)
            f["registered"] = dt(f.get("registered")) or now_utc()
            for k in ("price", "density", "diameter", "weight", "spool_weight"):
                f[k] = num(f.get(k))
            f.setdefault("extra", {})
            self.filaments[f["id"]] = f
        for s in dataset["spools"]:
            s = copy.deepcopy(s)
            for k in ("registered", "first_used", "last_used"):
                s[k] = dt(s.get(k))
            s["registered"] = s["registered"] or now_utc()
            for k in ("price", "initial_weight", "spool_weight"):
                s[k] = num(s.get(k))
            s["used_weight"] = num(s.get("used_weight") or 0.0)
            s["archived"] = bool(s.get("archived", False))
            s.setdefault("extra", {})
            self.spools[s["id"]] = s
        self.next_id = {
            "vendor": max(self.vendors, default=0) + 1,
            "filament": max(self.filaments, default=0) + 1,
            "spool": max(self.spools, default=0) + 1,
        }

    def new_id(self, kind):
        i = self.next_id[kind]
        self.next_id[kind] = i + 1
        return i

    # -- serialisation (response_model_exclude_none: null keys are left out) --

    def vendor_out(self, v):
        out = {"id": v["id"], "registered": fmt_dt(v["registered"])}
        for k in ("name", "comment", "empty_spool_weight", "external_id"):
            if v.get(k) is not None:
                out[k] = v[k]
        out["extra"] = dict(v.get("extra") or {})
        return out

    def filament_out(self, f):
        out = {"id": f["id"], "registered": fmt_dt(f["registered"])}
        if f.get("name") is not None:
            out["name"] = f["name"]
        vendor = self.vendors.get(f.get("vendor_id")) if f.get("vendor_id") is not None else None
        if vendor is not None:
            out["vendor"] = self.vendor_out(vendor)
        for k in ("material", "price", "density", "diameter", "weight", "spool_weight", "article_number",
                  "comment", "settings_extruder_temp", "settings_bed_temp", "color_hex", "multi_color_hexes",
                  "multi_color_direction", "external_id"):
            if f.get(k) is not None:
                out[k] = f[k]
        out["extra"] = dict(f.get("extra") or {})
        return out

    def spool_out(self, s):
        f = self.filaments[s["filament_id"]]
        density, diameter = f["density"], f["diameter"]
        used = s["used_weight"]
        initial = s["initial_weight"] if s.get("initial_weight") is not None else f.get("weight")
        remaining = remaining_len = None
        if initial is not None:
            remaining = float(max(initial - used, 0))
            remaining_len = length_from_weight(weight=remaining, diameter=diameter, density=density)
        used_len = length_from_weight(weight=used, diameter=diameter, density=density)
        out = {"id": s["id"], "registered": fmt_dt(s["registered"])}
        for k in ("first_used", "last_used"):
            if s.get(k) is not None:
                out[k] = fmt_dt(s[k])
        out["filament"] = self.filament_out(f)
        vals = [("price", s.get("price")), ("remaining_weight", remaining),
                ("initial_weight", s.get("initial_weight")), ("spool_weight", s.get("spool_weight")),
                ("used_weight", used), ("remaining_length", remaining_len), ("used_length", used_len),
                ("location", s.get("location")), ("lot_nr", s.get("lot_nr")), ("comment", s.get("comment"))]
        for k, v in vals:
            if v is not None:
                out[k] = v
        out["archived"] = bool(s.get("archived"))
        out["extra"] = dict(s.get("extra") or {})
        return out

    # -- /use: the race-safe CASE of use_weight_safe, then first_used/last_used --

    def use_weight(self, s, weight):
        before = s["used_weight"]
        total = before + weight
        s["used_weight"] = total if total >= 0.0 else 0.0
        now = now_utc()
        if s.get("first_used") is None:
            s["first_used"] = now
        s["last_used"] = now
        return before, s["used_weight"]


# --------------------------------------------------------------------------------------------
# Query helpers (spoolman/database/utils.py semantics).

def match_str_opt(value, terms, allow_null=True):
    """Comma-separated terms, OR-ed: "" = empty (or null), "quoted" = exact, else case-insensitive substring."""
    for part in terms.split(","):
        if part == "":
            if (allow_null and value is None) or value == "":
                return True
        elif len(part) >= 2 and part[0] == '"' and part[-1] == '"':
            if value == part[1:-1]:
                return True
        elif value is not None and part.lower() in value.lower():
            return True
    return False


def match_int_opt(value, ids):
    return any((value is None) if i == -1 else (value == i) for i in ids)


def match_extra(defs, extra, key, terms):
    """extra.<key>=... filter (0.25+). Unknown keys are ignored, as the real server does."""
    d = next((x for x in defs if x["key"] == key), None)
    if d is None:
        return True
    raw = extra.get(key)
    parts = terms.split(",")
    if any(p in ("", "<empty>") for p in parts):
        # As the real query: an empty term makes the filter "has no value" and nothing else.
        return raw is None or raw == "null" or (d["field_type"] == "boolean" and raw == "false")
    conds = []
    for p in parts:
        exact = len(p) >= 2 and p.startswith('"') and p.endswith('"')
        if exact:
            p = p[1:-1]
        t = d["field_type"]
        if t == "text":
            conds.append(raw is not None and (raw == json.dumps(p) if exact else p.lower() in raw.lower()))
        elif t == "integer":
            try:
                conds.append(raw == json.dumps(int(p)))
            except ValueError:
                pass
        elif t == "float":
            try:
                conds.append(raw == json.dumps(float(p)))
            except ValueError:
                pass
        elif t == "boolean":
            conds.append(raw == json.dumps(p.strip().lower() == "true"))
        elif t == "choice" and d.get("multi_choice"):
            conds.append(raw is not None and ('"%s"' % p) in raw)
        else:
            conds.append(raw == json.dumps(p))
    if not conds:
        return True     # nothing usable in the filter: the real query adds no condition
    return any(conds)


def match_dt_range(value, spec):
    """first_used/last_used/registered filter (0.26): start|end ranges, bare timestamps, "" = none."""
    for part in spec.split(","):
        part = part.strip()
        if part == "":
            if value is None:
                return True
            continue
        if value is None:
            continue
        try:
            if "|" in part:
                a, b = part.split("|", 1)
                lo = parse_dt(a) if a.strip() else None
                hi = parse_dt(b) if b.strip() else None
                if (lo is None or value >= lo) and (hi is None or value <= hi):
                    return True
            elif value == parse_dt(part):
                return True
        except ValueError:
            continue
    return False


def parse_sort(sort):
    """Returns [(field, desc)] or raises ValueError with Spoolman's message."""
    out = []
    if sort is None:
        return out
    for item in sort.split(","):
        item = item.strip()
        if not item:
            continue
        field, sep, direction = item.partition(":")
        if not sep:
            raise ValueError("Invalid sort '%s', expected the form 'field:asc' or 'field:desc'." % item)
        if not field:
            raise ValueError("Invalid sort '%s', no field name was given." % item)
        d = direction.strip().upper()
        if d not in ("ASC", "DESC"):
            raise ValueError("Invalid sort direction '%s' for field '%s', expected 'asc' or 'desc'."
                             % (direction, field))
        out.append((field, d == "DESC"))
    return out


VENDOR_COLS = ("id", "registered", "name", "comment", "empty_spool_weight", "external_id")
FILAMENT_COLS = ("id", "registered", "name", "vendor_id", "material", "price", "density", "diameter", "weight",
                 "spool_weight", "article_number", "comment", "settings_extruder_temp", "settings_bed_temp",
                 "color_hex", "multi_color_hexes", "multi_color_direction", "external_id")
SPOOL_COLS = ("id", "registered", "first_used", "last_used", "filament_id", "price", "initial_weight",
              "spool_weight", "used_weight", "location", "lot_nr", "comment", "archived")


def nested_getter(store, kind, field):
    """parse_nested_field: a getter for kind ("spool"|"filament"|"vendor") and a dotted field, or ValueError."""
    parts = field.split(".")
    head = parts[0]
    if kind == "spool" and head == "filament":
        if len(parts) == 1:
            raise ValueError("No field specified for filament")
        g = nested_getter(store, "filament", ".".join(parts[1:]))
        return lambda s: g(store.filaments[s["filament_id"]])
    if kind == "filament" and head == "vendor":
        if len(parts) == 1:
            raise ValueError("No field specified for vendor")
        g = nested_getter(store, "vendor", ".".join(parts[1:]))
        return lambda f: (g(store.vendors[f["vendor_id"]]) if f.get("vendor_id") in store.vendors else None)
    cols = {"spool": SPOOL_COLS, "filament": FILAMENT_COLS, "vendor": VENDOR_COLS}[kind]
    if head not in cols:
        raise ValueError("Invalid field name '%s', '%s' is not a valid field on '%s'."
                         % (field, head, kind.capitalize()))
    if len(parts) > 1:
        raise ValueError("Field '%s' does not have any nested fields" % head)
    return lambda x: x.get(head)


def spool_sort_getters(store, field):
    def fil(s):
        return store.filaments[s["filament_id"]]

    def initial(s):
        return s["initial_weight"] if s.get("initial_weight") is not None else fil(s).get("weight")

    if field == "remaining_weight":
        return [lambda s: None if initial(s) is None else initial(s) - s["used_weight"]]
    if field == "remaining_length":
        return [lambda s: None if initial(s) is None else
                (initial(s) - s["used_weight"]) / fil(s)["density"] / (fil(s)["diameter"] * fil(s)["diameter"])]
    if field == "used_length":
        return [lambda s: s["used_weight"] / fil(s)["density"] / (fil(s)["diameter"] * fil(s)["diameter"])]
    if field == "filament.combined_name":
        vname = nested_getter(store, "spool", "filament.vendor.name")
        return [vname, lambda s: fil(s).get("name")]
    if field == "price":
        return [lambda s: s["price"] if s.get("price") is not None else fil(s).get("price")]
    if field.startswith("extra."):
        key = field[len("extra."):]
        return [lambda s: (s.get("extra") or {}).get(key)]
    return [nested_getter(store, "spool", field)]


def apply_sort(items, keyspecs):
    """keyspecs: [(getter, desc)], highest priority first. NULLs go last in both directions."""
    items = list(items)
    for getter, desc in reversed(keyspecs):
        vals = [(getter(x), x) for x in items]
        nonnull = [p for p in vals if p[0] is not None]
        nulls = [p[1] for p in vals if p[0] is None]
        nonnull.sort(key=lambda p: p[0], reverse=desc)
        items = [p[1] for p in nonnull] + nulls
    return items


# --------------------------------------------------------------------------------------------
# Requests.

class Request:
    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path            # inside the v1 app, e.g. /spool/1/use
        self.query = query          # list of (key, value)
        self.headers = headers      # lowercased names
        self.body = body            # bytes
        self.applied = False        # set when the request changed state
        self.info = {}              # extra details for the request log

    def q(self, name):
        val = None
        for k, v in self.query:
            if k == name:
                val = v
        return val


def is_json_content_type(ct):
    main = ct.split(";", 1)[0].strip().lower()
    if "/" not in main:
        return False
    maintype, subtype = main.split("/", 1)
    return maintype == "application" and (subtype == "json" or subtype.endswith("+json"))


def read_body(req):
    """FastAPI's body handling. Returns (value, None) or (None, Response) for json_invalid and the like."""
    b = req.body
    if not b:
        return None, None
    ct = req.headers.get("content-type")
    if ct is None or is_json_content_type(ct):
        try:
            return json.loads(b), None
        except json.JSONDecodeError as e:
            return None, r_422([verr("json_invalid", ["body", e.pos], "JSON decode error", {}, {"error": e.msg})])
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None, r_json(400, {"detail": "There was an error parsing the body"})
    return b.decode("utf-8", "replace"), None


# --------------------------------------------------------------------------------------------
# The v1 API.

class Api:
    def __init__(self, app):
        self.app = app
        v26 = app.version != "0.22.1"
        U = "unimpl"
        table = [
            ("GET", "/info", "info"), ("GET", "/health", "health"), ("POST", "/backup", U),
            ("GET", "/filament", "filament_find"), ("POST", "/filament", "filament_create"),
            ("GET", "/filament/{filament_id}", "filament_get"), ("PATCH", "/filament/{filament_id}", "filament_update"),
            ("DELETE", "/filament/{filament_id}", "filament_delete"),
            ("GET", "/spool", "spool_find"),
        ]
        if v26:
            table += [("GET", "/spool/group", U), ("PATCH", "/spool/field/{field}", U)]
        table += [
            ("POST", "/spool", "spool_create"),
            ("GET", "/spool/{spool_id}", "spool_get"), ("PATCH", "/spool/{spool_id}", "spool_update"),
            ("DELETE", "/spool/{spool_id}", "spool_delete"),
            ("PUT", "/spool/{spool_id}/use", "spool_use"), ("PUT", "/spool/{spool_id}/measure", "spool_measure"),
            ("GET", "/vendor", "vendor_find"), ("POST", "/vendor", "vendor_create"),
            ("GET", "/vendor/{vendor_id}", "vendor_get"), ("PATCH", "/vendor/{vendor_id}", "vendor_update"),
            ("DELETE", "/vendor/{vendor_id}", "vendor_delete"),
            ("GET", "/setting/{key}", U), ("POST", "/setting/{key}", U), ("GET", "/setting/", U),
            ("GET", "/field/{entity_type}", "field_list"),
        ]
        if v26:
            table += [("GET", "/field/{entity_type}/{key}/values", "field_values")]
        table += [
            ("POST", "/field/{entity_type}/{key}", "field_set"), ("DELETE", "/field/{entity_type}/{key}", "field_delete"),
            ("GET", "/material", "distinct_material"), ("GET", "/article-number", "distinct_article"),
            ("GET", "/lot-number", "distinct_lot"), ("GET", "/location", "distinct_location"),
            ("PATCH", "/location/{location}", U),
            ("GET", "/external/filament", U),
        ]
        if v26:
            table += [("GET", "/external/filament/search", U)]
        table += [("GET", "/external/material", U), ("GET", "/export/spools", U), ("GET", "/export/filaments", U),
                  ("GET", "/export/vendors", U)]
        if v26:
            table += [("GET", "/search", U)]
        self.routes = []
        for method, tmpl, name in table:
            rx = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(tmpl)) + "$"
            self.routes.append((method, re.compile(rx), name))

    @property
    def store(self):
        return self.app.store

    def matches(self, path):
        return [(m, rx.match(path), name) for m, rx, name in self.routes if rx.match(path)]

    def handle(self, req, host, prefix, query_string):
        found = self.matches(req.path)
        for method, m, name in found:
            if method == req.method:
                params = {k: unquote(v) for k, v in m.groupdict().items()}
                if name == "unimpl":
                    return r_unimplemented()
                return getattr(self, "h_" + name)(req, params)
        if found:
            return Response(405, json_bytes({"detail": "Method Not Allowed"}), "application/json",
                            [("allow", found[0][0])])
        # Starlette's redirect_slashes.
        if req.path != "/":
            alt = req.path[:-1] if req.path.endswith("/") else req.path + "/"
            if self.matches(alt):
                loc = "http://%s%s%s" % (host or "127.0.0.1", prefix, alt)
                if query_string:
                    loc += "?" + query_string
                return Response(307, b"", None, [("location", loc)])
        return r_not_found()

    # -- helpers --

    @staticmethod
    def path_int(params, name, errs):
        v = coerce(F("int", nullable=False), params[name], ["path", name], errs)
        return None if v is MISSING else v

    @staticmethod
    def query_val(req, name, f, errs, default=None):
        raw = req.q(name)
        if raw is None:
            return default
        v = coerce(f, raw, ["query", name], errs)
        return default if v is MISSING else v

    def defs(self, entity):
        return self.store.fields[entity]

    # -- meta --

    def h_info(self, req, p):
        out = {"version": self.app.version, "debug_mode": False, "automatic_backups": False,
               "data_dir": "/home/app/.local/share/spoolman", "logs_dir": "/home/app/.local/share/spoolman",
               "backups_dir": "/home/app/.local/share/spoolman/backups", "db_type": "sqlite"}
        if self.app.version != "0.22.1":
            out["external_db_name"] = "SpoolmanDB"
        out["git_commit"] = None
        out["build_date"] = None
        return r_json(200, out)

    def h_health(self, req, p):
        return r_json(200, {"status": "healthy"})

    # -- spools --

    def h_spool_find(self, req, p):
        st = self.store
        errs = []
        id_pat = r"^-?\d+(,-?\d+)*$"

        def sval(new, old=None, pattern=None):
            f = F("str", pattern=pattern)
            v = self.query_val(req, new, f, errs)
            if v is None and old is not None:
                v = self.query_val(req, old, f, errs)
            return v

        f_name = sval("filament.name", "filament_name")
        f_id = sval("filament.id", "filament_id", id_pat)
        f_mat = sval("filament.material", "filament_material")
        v_name = sval("filament.vendor.name", "vendor_name")
        v_id = sval("filament.vendor.id", "vendor_id", id_pat)
        location = sval("location")
        lot_nr = sval("lot_nr")
        allow_archived = self.query_val(req, "allow_archived", F("bool", nullable=False), errs, False)
        sort = sval("sort")
        limit = self.query_val(req, "limit", F("int"), errs)
        offset = self.query_val(req, "offset", F("int", nullable=False), errs, 0)
        v26 = self.app.version != "0.22.1"
        mcd = sval("filament.multi_color_direction") if v26 else None
        ranges = {k: sval(k) for k in ("first_used", "last_used", "registered")} if v26 else {}
        if errs:
            return r_422(errs)
        try:
            sort_by = parse_sort(sort)
            keyspecs = []
            for field, desc in sort_by:
                if field.startswith("extra.") and not v26:
                    raise ValueError("Invalid field name '%s', 'extra' is not a valid field on 'Spool'." % field)
                for g in spool_sort_getters(st, field):
                    keyspecs.append((g, desc))
        except ValueError as e:
            if not v26:
                return r_500()      # 0.22.1 let a bad sort escape as an unhandled exception
            return r_msg(400, str(e))
        f_ids = [int(x) for x in f_id.split(",")] if f_id is not None else None
        v_ids = [int(x) for x in v_id.split(",")] if v_id is not None else None
        extra_filters = []
        if v26:
            for k, v in req.query:
                for prefix, ent in (("extra.", "spool"), ("filament.extra.", "filament"),
                                    ("filament.vendor.extra.", "vendor")):
                    if k.startswith(prefix) and len(k) > len(prefix):
                        extra_filters.append((ent, k[len(prefix):], v))
        out = []
        for s in sorted(st.spools.values(), key=lambda x: x["id"]):
            f = st.filaments[s["filament_id"]]
            vendor = st.vendors.get(f.get("vendor_id"))
            if not allow_archived and s.get("archived"):
                continue
            if f_ids is not None and f["id"] not in f_ids:
                continue
            if v_ids is not None and not match_int_opt(f.get("vendor_id"), v_ids):
                continue
            if v_name is not None and not match_str_opt(vendor["name"] if vendor else None, v_name, False):
                continue
            if f_name is not None and not match_str_opt(f.get("name"), f_name):
                continue
            if f_mat is not None and not match_str_opt(f.get("material"), f_mat):
                continue
            if mcd is not None and not match_str_opt(f.get("multi_color_direction"), mcd):
                continue
            if location is not None and not match_str_opt(s.get("location"), location):
                continue
            if lot_nr is not None and not match_str_opt(s.get("lot_nr"), lot_nr):
                continue
            if any(spec is not None and not match_dt_range(s.get(k), spec) for k, spec in ranges.items()):
                continue
            ok = True
            for ent, key, val in extra_filters:
                target = s if ent == "spool" else f if ent == "filament" else vendor
                if target is None:
                    if any(d["key"] == key for d in self.defs(ent)):
                        ok = False
                    continue
                if not match_extra(self.defs(ent), target.get("extra") or {}, key, val):
                    ok = False
            if ok:
                out.append(s)
        out = apply_sort(out, keyspecs)
        total = len(out)
        if limit is not None:
            out = out[offset:] if limit < 0 else out[offset:offset + limit]
        return r_json(200, [st.spool_out(s) for s in out], [("x-total-count", str(total))])

    def h_spool_get(self, req, p):
        errs = []
        sid = self.path_int(p, "spool_id", errs)
        if errs:
            return r_422(errs)
        s = self.store.spools.get(sid)
        if s is None:
            return r_msg(404, "No spool with ID %d found." % sid)
        return r_json(200, self.store.spool_out(s))

    def h_spool_create(self, req, p):
        st = self.store
        body, resp = read_body(req)
        if resp:
            return resp
        errs = []
        vals = validate_model(spool_model(self.app.version, False), body, errs)
        if errs:
            return r_422(errs)
        if vals.get("remaining_weight") is not None and vals.get("used_weight") is not None:
            return r_msg(400, "Only specify either remaining_weight or used_weight.")
        if vals.get("extra"):
            try:
                validate_extra_dict(self.defs("spool"), vals["extra"])
            except ValueError as e:
                return r_msg(400, str(e))
        f = st.filaments.get(vals["filament_id"])
        if f is None:
            return r_msg(404, "No filament with ID %d found." % vals["filament_id"])
        spool_weight = vals.get("spool_weight")
        if spool_weight is None and f.get("spool_weight") is not None:
            spool_weight = f["spool_weight"]
        initial = vals.get("initial_weight")
        if initial is None and f.get("weight") is not None:
            initial = f["weight"]
        used = vals.get("used_weight")
        if used is None:
            rem = vals.get("remaining_weight")
            if rem is not None:
                if initial is None or initial == 0:
                    return r_msg(400, "Failed to create spool, see server logs for more information.")
                used = float(max(initial - rem, 0))
            else:
                used = 0.0
        s = {"id": st.new_id("spool"), "registered": now_utc(), "first_used": vals.get("first_used"),
             "last_used": vals.get("last_used"), "filament_id": f["id"], "price": vals.get("price"),
             "initial_weight": initial, "spool_weight": spool_weight, "used_weight": used,
             "location": vals.get("location"), "lot_nr": vals.get("lot_nr"), "comment": vals.get("comment"),
             "archived": vals.get("archived", False),
             "extra": {k: v for k, v in (vals.get("extra") or {}).items() if v is not None}}
        st.spools[s["id"]] = s
        req.applied = True
        req.info = {"spool_id": s["id"]}
        return r_json(200, st.spool_out(s))

    def h_spool_update(self, req, p):
        st = self.store
        errs = []
        sid = self.path_int(p, "spool_id", errs)
        body, resp = read_body(req)
        if resp:
            return resp
        vals = validate_model(spool_model(self.app.version, True), body, errs)
        if errs:
            return r_422(errs)
        if vals.get("remaining_weight") is not None and vals.get("used_weight") is not None:
            return r_msg(400, "Only specify either remaining_weight or used_weight.")
        if vals.get("extra"):
            try:
                validate_extra_dict(self.defs("spool"), vals["extra"])
            except ValueError as e:
                return r_msg(400, str(e))
        s = st.spools.get(sid)
        if s is None:
            return r_msg(404, "No spool with ID %d found." % sid)
        new = copy.deepcopy(s)      # one transaction: all or nothing
        for k, v in vals.items():   # model field order, as model_dump(exclude_unset=True) gives
            if k == "filament_id":
                f = st.filaments.get(v)
                if f is None:
                    return r_msg(404, "No filament with ID %d found." % v)
                new["filament_id"] = v
                if new.get("initial_weight") is None and f.get("weight") is not None:
                    new["initial_weight"] = f["weight"]
            elif k == "remaining_weight":
                if v is None:
                    return r_500()
                if new.get("initial_weight") is None:
                    return r_msg(400, "Failed to update spool, see server logs for more information.")
                new["used_weight"] = float(max(new["initial_weight"] - v, 0))
            elif k == "used_weight" and v is None:
                return r_500()      # NOT NULL column
            elif k == "extra":
                merge_extra(new["extra"], v)
            else:
                new[k] = v
        before = s["used_weight"]
        st.spools[sid] = new
        req.applied = True
        req.info = {"spool_id": sid, "used_weight_before": before, "used_weight_after": new["used_weight"]}
        return r_json(200, st.spool_out(new))

    def h_spool_delete(self, req, p):
        errs = []
        sid = self.path_int(p, "spool_id", errs)
        if errs:
            return r_422(errs)
        if sid not in self.store.spools:
            return r_msg(404, "No spool with ID %d found." % sid)
        del self.store.spools[sid]
        req.applied = True
        req.info = {"spool_id": sid}
        return r_json(200, {"message": "Success!"})

    def h_spool_use(self, req, p):
        st = self.store
        errs = []
        sid = self.path_int(p, "spool_id", errs)
        body, resp = read_body(req)
        if resp:
            return resp
        vals = validate_model(USE_MODEL, body, errs)
        if errs:
            return r_422(errs)
        uw, ul = vals.get("use_weight"), vals.get("use_length")
        if uw is not None and ul is not None:
            return r_msg(400, "Only specify either use_weight or use_length.")
        if uw is None and ul is None:
            return r_msg(400, "Either use_weight or use_length must be specified.")
        s = st.spools.get(sid)
        if uw is not None:
            if s is None:
                return r_msg(404, "No spool with ID %d found." % sid)
            weight = uw
        else:
            if s is None:
                return r_msg(404, "Filament not found for spool.")
            f = st.filaments[s["filament_id"]]
            weight = weight_from_length(length=ul, diameter=f["diameter"], density=f["density"])
        before, after = st.use_weight(s, weight)
        req.applied = True
        req.info = {"spool_id": sid, "use_weight": uw, "use_length": ul, "weight": weight,
                    "used_weight_before": before, "used_weight_after": after}
        self.app.count_use(sid, weight, after - before)
        return r_json(200, st.spool_out(s))

    def h_spool_measure(self, req, p):
        st = self.store
        errs = []
        sid = self.path_int(p, "spool_id", errs)
        body, resp = read_body(req)
        if resp:
            return resp
        vals = validate_model(MEASURE_MODEL, body, errs)
        if errs:
            return r_422(errs)
        weight = vals["weight"]
        s = st.spools.get(sid)
        if s is None:
            return r_msg(400, "Spool not found.")
        f = st.filaments[s["filament_id"]]
        initial, tare = s.get("initial_weight"), s.get("spool_weight")
        if not initial or not tare:
            if not tare:
                tare = f.get("spool_weight")
            if not initial:
                initial = f.get("weight") or 0
        if not initial:
            return r_msg(400, "Initial weight is not set.")
        if tare is None:
            tare = 0
        gross = initial + tare
        before = s["used_weight"]
        if weight > gross:
            s["initial_weight"] = weight - tare
            s["used_weight"] = 0.0
        else:
            current = gross - s["used_weight"]
            to_use = current - weight
            if gross - to_use < tare:
                to_use = current - tare
            st.use_weight(s, to_use)
        req.applied = True
        req.info = {"spool_id": sid, "used_weight_before": before, "used_weight_after": s["used_weight"]}
        return r_json(200, st.spool_out(s))

    # -- filaments and vendors --

    def _find(self, req, items, filters, kind, out_fn):
        errs = []
        vals = {}
        for qname, getter, is_id in filters:
            raw = self.query_val(req, qname, F("str", pattern=r"^-?\d+(,-?\d+)*$" if is_id else None), errs)
            if raw is not None:
                vals[qname] = (raw, getter, is_id)
        sort = self.query_val(req, "sort", F("str"), errs)
        limit = self.query_val(req, "limit", F("int"), errs)
        offset = self.query_val(req, "offset", F("int", nullable=False), errs, 0)
        if errs:
            return r_422(errs)
        try:
            keyspecs = [(nested_getter(self.store, kind, fld), desc) for fld, desc in parse_sort(sort)]
        except ValueError as e:
            return r_msg(400, str(e)) if self.app.version != "0.22.1" else r_500()
        out = []
        for item in sorted(items, key=lambda x: x["id"]):
            ok = True
            for raw, getter, is_id in vals.values():
                val = getter(item)
                if is_id:
                    ok = ok and match_int_opt(val, [int(x) for x in raw.split(",")])
                else:
                    ok = ok and match_str_opt(val, raw)
            if ok:
                out.append(item)
        out = apply_sort(out, keyspecs)
        total = len(out)
        if limit is not None:
            out = out[offset:] if limit < 0 else out[offset:offset + limit]
        return r_json(200, [out_fn(x) for x in out], [("x-total-count", str(total))])

    def h_filament_find(self, req, p):
        st = self.store

        def vname(f):
            v = st.vendors.get(f.get("vendor_id"))
            return v["name"] if v else None

        filters = [("vendor.name", vname, False), ("vendor_name", vname, False),
                   ("vendor.id", lambda f: f.get("vendor_id"), True), ("vendor_id", lambda f: f.get("vendor_id"), True),
                   ("name", lambda f: f.get("name"), False), ("material", lambda f: f.get("material"), False),
                   ("article_number", lambda f: f.get("article_number"), False),
                   ("external_id", lambda f: f.get("external_id"), False)]
        return self._find(req, st.filaments.values(), filters, "filament", st.filament_out)

    def h_vendor_find(self, req, p):
        st = self.store
        filters = [("name", lambda v: v.get("name"), False), ("external_id", lambda v: v.get("external_id"), False)]
        return self._find(req, st.vendors.values(), filters, "vendor", st.vendor_out)

    def _get_entity(self, p, kind):
        errs = []
        eid = self.path_int(p, kind + "_id", errs)
        if errs:
            return None, r_422(errs)
        table = self.store.filaments if kind == "filament" else self.store.vendors
        e = table.get(eid)
        if e is None:
            return None, r_msg(404, "No %s with ID %d found." % (kind, eid))
        return e, None

    def h_filament_get(self, req, p):
        f, resp = self._get_entity(p, "filament")
        return resp or r_json(200, self.store.filament_out(f))

    def h_vendor_get(self, req, p):
        v, resp = self._get_entity(p, "vendor")
        return resp or r_json(200, self.store.vendor_out(v))

    def _write_entity(self, req, p, kind, update):
        st = self.store
        errs = []
        eid = self.path_int(p, kind + "_id", errs) if update else None
        body, resp = read_body(req)
        if resp:
            return resp
        model = filament_model(self.app.version, update) if kind == "filament" else vendor_model(self.app.version, update)
        vals = validate_model(model, body, errs)
        if errs:
            return r_422(errs)
        if vals.get("extra"):
            try:
                validate_extra_dict(self.defs(kind), vals["extra"])
            except ValueError as e:
                return r_msg(400, str(e))
        table = st.filaments if kind == "filament" else st.vendors
        if update:
            if eid not in table:
                return r_msg(404, "No %s with ID %d found." % (kind, eid))
            e = copy.deepcopy(table[eid])
        else:
            e = {"id": None, "registered": now_utc(), "extra": {}}
        if kind == "filament" and vals.get("vendor_id") is not None and vals["vendor_id"] not in st.vendors:
            return r_msg(404, "No vendor with ID %d found." % vals["vendor_id"])
        for k, v in vals.items():
            if k == "extra":
                merge_extra(e["extra"], v)
            elif k == "color_hex" and isinstance(v, str):
                e[k] = v.lstrip("#")
            else:
                e[k] = v
        if kind == "filament" and not update and e.get("spool_weight") is None and e.get("vendor_id") in st.vendors:
            e["spool_weight"] = st.vendors[e["vendor_id"]].get("empty_spool_weight")
        if not update:
            e["id"] = st.new_id(kind)
        table[e["id"]] = e
        req.applied = True
        return r_json(200, st.filament_out(e) if kind == "filament" else st.vendor_out(e))

    def h_filament_create(self, req, p):
        return self._write_entity(req, p, "filament", False)

    def h_filament_update(self, req, p):
        return self._write_entity(req, p, "filament", True)

    def h_vendor_create(self, req, p):
        return self._write_entity(req, p, "vendor", False)

    def h_vendor_update(self, req, p):
        return self._write_entity(req, p, "vendor", True)

    def h_filament_delete(self, req, p):
        f, resp = self._get_entity(p, "filament")
        if resp:
            return resp
        if any(s["filament_id"] == f["id"] for s in self.store.spools.values()):
            return r_msg(403, "Failed to delete filament, see server logs for more information.")
        del self.store.filaments[f["id"]]
        req.applied = True
        return r_json(200, {"message": "Success!"})

    def h_vendor_delete(self, req, p):
        v, resp = self._get_entity(p, "vendor")
        if resp:
            return resp
        for f in self.store.filaments.values():     # the foreign key is ON DELETE SET NULL
            if f.get("vendor_id") == v["id"]:
                f["vendor_id"] = None
        del self.store.vendors[v["id"]]
        req.applied = True
        return r_json(200, {"message": "Success!"})

    # -- extra fields --

    def _field_path(self, p, errs, with_key):
        ent = coerce(F("enum", choices=ENTITY_TYPES, nullable=False), p["entity_type"], ["path", "entity_type"], errs)
        key = None
        if with_key:
            key = coerce(F("str", min_len=1, max_len=64, pattern="^[a-z0-9_]+$", nullable=False), p["key"],
                         ["path", "key"], errs)
        return ent, key

    def h_field_list(self, req, p):
        errs = []
        ent, _ = self._field_path(p, errs, False)
        if errs:
            return r_422(errs)
        return r_json(200, [extra_field_out(d) for d in self.defs(ent)])

    def h_field_values(self, req, p):
        errs = []
        ent, key = self._field_path(p, errs, True)
        if errs:
            return r_422(errs)
        table = {"spool": self.store.spools, "filament": self.store.filaments, "vendor": self.store.vendors}[ent]
        vals = sorted({e["extra"][key] for e in table.values() if key in (e.get("extra") or {})})
        return r_json(200, vals)

    def h_field_set(self, req, p):
        errs = []
        ent, key = self._field_path(p, errs, True)
        body, resp = read_body(req)
        if resp:
            return resp
        vals = validate_model(EXTRA_FIELD_MODEL, body, errs)
        if errs:
            return r_422(errs)
        d = {"name": vals["name"], "order": vals.get("order", 0), "unit": vals.get("unit"),
             "field_type": vals["field_type"], "default_value": vals.get("default_value"),
             "choices": vals.get("choices"), "multi_choice": vals.get("multi_choice"),
             "key": key, "entity_type": ent}
        try:
            if d["field_type"] == "choice":
                if d["choices"] is None:
                    raise ValueError("Choices must be set for field type choice.")
                if d["multi_choice"] is None:
                    raise ValueError("Multi choice must be set for field type choice.")
            else:
                if d["choices"] is not None:
                    raise ValueError("Choices must not be set for field type other than choice.")
                if d["multi_choice"] is not None:
                    raise ValueError("Multi choice must not be set for field type other than choice.")
            if d["default_value"] is not None:
                try:
                    validate_extra_value(d, d["default_value"])
                except ValueError as e:
                    raise ValueError("Default value is not valid: %s" % e) from None
            defs = self.defs(ent)
            old = next((x for x in defs if x["key"] == key), None)
            if old is not None and old["field_type"] != d["field_type"]:
                raise ValueError("Field type cannot be changed.")
            rest = [x for x in defs if x["key"] != key]
            if len(rest) >= 128:
                raise ValueError("Cannot add another extra field for %s, the maximum is 128." % ent)
        except ValueError as e:
            return r_msg(400, str(e))
        self.store.fields[ent] = rest + [d]
        req.applied = True
        return r_json(200, [extra_field_out(x) for x in self.store.fields[ent]])

    def h_field_delete(self, req, p):
        errs = []
        ent, key = self._field_path(p, errs, True)
        if errs:
            return r_422(errs)
        defs = self.defs(ent)
        if not any(x["key"] == key for x in defs):
            return r_msg(404, "Extra field with key %s does not exist for entity type %s" % (key, ent))
        self.store.fields[ent] = [x for x in defs if x["key"] != key]
        table = {"spool": self.store.spools, "filament": self.store.filaments, "vendor": self.store.vendors}[ent]
        for e in table.values():
            (e.get("extra") or {}).pop(key, None)
        req.applied = True
        return r_json(200, [extra_field_out(x) for x in self.store.fields[ent]])

    # -- distinct-value helpers --

    def _distinct(self, values):
        seen = []
        for v in values:
            if v is not None and v not in seen:
                seen.append(v)
        return r_json(200, seen)

    def h_distinct_material(self, req, p):
        return self._distinct(f.get("material") for f in self.store.filaments.values())

    def h_distinct_article(self, req, p):
        return self._distinct(f.get("article_number") for f in self.store.filaments.values())

    def h_distinct_lot(self, req, p):
        return self._distinct(s.get("lot_nr") for s in self.store.spools.values())

    def h_distinct_location(self, req, p):
        return self._distinct(s.get("location") for s in self.store.spools.values())


# --------------------------------------------------------------------------------------------
# Origin guard (0.26.0+, spoolman/security.py): only requests that carry an untrusted Origin.

def origin_trusted(headers):
    origin = headers.get("origin")
    if origin is None or not origin.strip():
        return True
    norm = origin.strip().lower().rstrip("/")
    if norm == "null":
        return False
    parts = urlsplit(norm)
    authority = parts.netloc
    default = {"http": ":80", "https": ":443"}.get(parts.scheme)
    if default and authority.endswith(default):
        authority = authority[:-len(default)]

    def nh(h):
        h = h.strip().lower()
        for suffix in (":80", ":443"):
            if h.endswith(suffix):
                h = h[:-len(suffix)]
        return h

    own = {nh(headers.get("host", ""))}
    if headers.get("x-forwarded-host"):
        own.add(nh(headers["x-forwarded-host"].split(",")[0]))
    own.discard("")
    return bool(authority) and authority in own


NGINX_401 = (b"<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n"
             b"<center><h1>401 Authorization Required</h1></center>\r\n<hr><center>nginx</center>\r\n"
             b"</body>\r\n</html>\r\n")


# What the real server sends with 200 for any path outside /api/v1: the web client's index.html (Spoolman mounts a
# SinglePageApplication at the base path, which answers unknown paths with it), so a client with a wrong base path
# or behind a proxy that rewrites paths gets HTML where it expected JSON.
SPA_INDEX = (b'<!doctype html>\n<html lang="en">\n  <head>\n    <meta charset="UTF-8" />\n'
             b'    <title>Spoolman</title>\n  </head>\n  <body>\n    <div id="root"></div>\n  </body>\n</html>\n')
# A JSON answer cut short, as a proxy that times out mid-body delivers it.
TRUNCATED_JSON = b'[{"id":1,"registered":"2025-02-02T10:35:23Z","filament":{"id":1,"name":"PLA Ba'


# --------------------------------------------------------------------------------------------
# Faults, request log, control API.

class FaultRule:
    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("a fault is a JSON object")
        self.mode = str(spec.get("mode", ""))
        if self.mode not in FAULT_MODES:
            raise ValueError("mode must be one of %s" % ", ".join(FAULT_MODES))
        count = spec.get("count")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
            raise ValueError("count must be a non-negative integer or null (unlimited)")
        self.remaining = count
        self.count = count
        self.hits = 0
        self.delay_s = float(spec.get("delay_s", 0) or 0)
        if self.delay_s < 0 or not math.isfinite(self.delay_s):
            raise ValueError("delay_s must be a finite number >= 0")
        if self.mode == "delay" and "delay_s" not in spec:
            raise ValueError("mode delay needs delay_s")
        self.when = spec.get("when", "after_apply")
        if self.when not in ("after_apply", "before_apply"):
            raise ValueError("when must be after_apply or before_apply")
        self.path_regex = spec.get("path_regex")
        self.rx = re.compile(self.path_regex) if self.path_regex else None
        methods = spec.get("method")
        if isinstance(methods, str):
            methods = [methods]
        self.methods = [m.upper() for m in methods] if methods else None
        self.rst = bool(spec.get("rst", self.mode == "refuse"))
        self.status = int(spec.get("status", 500))
        if self.mode == "not_json":
            self.style = spec.get("style", "html")
            if self.style not in ("html", "truncated"):
                raise ValueError("style must be html or truncated for mode not_json")
        else:
            self.style = spec.get("style", "text")
            if self.style not in ("text", "json"):
                raise ValueError("style must be text or json")

    def matches(self, method, path):
        if self.mode == "none" or self.remaining == 0:
            return False
        if self.methods is not None and method not in self.methods:
            return False
        return self.rx is None or self.rx.search(path) is not None

    def describe(self):
        return {"mode": self.mode, "count": self.count, "remaining": self.remaining, "hits": self.hits,
                "delay_s": self.delay_s, "when": self.when, "path_regex": self.path_regex,
                "method": self.methods, "rst": self.rst, "status": self.status, "style": self.style}


class App:
    def __init__(self, args, dataset):
        self.args = args
        self.version = args.version
        self.dataset = dataset
        self.lock = threading.RLock()
        self.store = Store(dataset)
        self.api = Api(self)
        self.faults = []
        self.log = []
        self.seq = 0
        self.conn_seq = 0
        self.use_totals = {}
        self.api_server = None
        self.control_server = None
        self.down = False
        self.conns = set()
        self.conns_lock = threading.Lock()
        self.prefix = args.base_path + "/api/v1"

    def count_use(self, sid, weight, delta):
        t = self.use_totals.setdefault(sid, {"count": 0, "weight": 0.0, "delta": 0.0})
        t["count"] += 1
        t["weight"] += weight
        t["delta"] += delta

    def reset(self):
        with self.lock:
            self.store = Store(self.dataset)
            self.faults = []
            self.log = []
            self.use_totals = {}

    def take_fault(self, method, path):
        with self.lock:
            for rule in self.faults:
                if rule.matches(method, path):
                    rule.hits += 1
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule
        return None

    def add_log(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.log.append(entry)
            if len(self.log) > self.args.log_max:
                del self.log[: len(self.log) - self.args.log_max]

    # -- servers --

    def make_server(self, port, role):
        srv = ThreadingHTTPServer((self.args.host, port), Handler)
        srv.daemon_threads = True
        srv.app = self
        srv.role = role
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return srv

    def go_down(self, seconds):
        """Close the API listener (clients get ECONNREFUSED) and its connections; reopen after seconds."""
        def run():
            time.sleep(0.05)        # let the control response leave first
            with self.lock:
                srv = self.api_server
                if srv is None:
                    return
                self.down = True
                self.api_server = None
            port = srv.server_address[1]
            srv.shutdown()
            srv.server_close()
            with self.conns_lock:
                conns = [c for c, role in self.conns if role == "api"]
            for c in conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            time.sleep(seconds)
            for _ in range(100):
                try:
                    new = self.make_server(port, "api")
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                sys.stderr.write("spoolman_standin: could not rebind port %d\n" % port)
                return
            with self.lock:
                self.api_server = new
                self.down = False
        threading.Thread(target=run, daemon=True).start()

    # -- control API --

    def control(self, method, path, query, body):
        def ok(obj):
            return Response(200, json.dumps(obj).encode(), "application/json")

        def bad(msg):
            return Response(400, json.dumps({"error": msg}).encode(), "application/json")

        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return bad("body is not valid JSON")
        q = dict(parse_qsl(query, keep_blank_values=True))
        if path == "/_control/fault" and method == "POST":
            specs = data.get("faults") if isinstance(data, dict) and "faults" in data else [data]
            try:
                rules = [FaultRule(s) for s in specs]
            except (ValueError, TypeError, re.error) as e:
                return bad(str(e))
            with self.lock:
                rules = [r for r in rules if r.mode != "none"]
                if isinstance(data, dict) and data.get("append"):
                    self.faults.extend(rules)
                else:
                    self.faults = rules
                return ok({"faults": [r.describe() for r in self.faults]})
        if path == "/_control/fault" and method == "GET":
            with self.lock:
                return ok({"faults": [r.describe() for r in self.faults]})
        if path == "/_control/log" and method == "GET":
            since = int(q.get("since", 0) or 0)
            with self.lock:
                entries = [e for e in self.log if e["seq"] > since]
                return Response(200, json.dumps({"last_seq": self.seq, "entries": entries}).encode(),
                                "application/json")
        if path == "/_control/state" and method == "GET":
            with self.lock:
                st = self.store
                spools = []
                for s in sorted(st.spools.values(), key=lambda x: x["id"]):
                    out = st.spool_out(s)
                    spools.append({k: out.get(k) for k in ("id", "used_weight", "initial_weight", "remaining_weight",
                                                           "archived", "location")} | {"filament_id": s["filament_id"]})
                body = {"version": self.version, "down": self.down, "requests": self.seq, "spools": spools,
                        "use": {str(k): v for k, v in sorted(self.use_totals.items())},
                        "faults": [r.describe() for r in self.faults]}
                return Response(200, json.dumps(body).encode(), "application/json")
        if path == "/_control/reset" and method == "POST":
            self.reset()
            return ok({"reset": True})
        if path == "/_control/down" and method == "POST":
            seconds = data.get("seconds", 1) if isinstance(data, dict) else 1
            if not isinstance(seconds, (int, float)) or seconds < 0 or not math.isfinite(seconds):
                return bad("seconds must be a finite number >= 0")
            if self.api_server is None:
                return bad("already down")
            resp = Response(200, json.dumps({"down_for": seconds}).encode(), "application/json")
            resp.after = lambda: self.go_down(seconds)
            return resp
        return Response(404, json.dumps({"error": "unknown control endpoint"}).encode(), "application/json")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "uvicorn"
    sys_version = ""

    def setup(self):
        super().setup()
        self.timeout_s = self.server.app.args.keepalive_timeout
        self.connection.settimeout(self.timeout_s)
        app = self.server.app
        with app.conns_lock:
            app.conn_seq += 1
            self.conn_id = app.conn_seq
            app.conns.add((self.connection, self.server.role))
        self.conn_req = 0

    def finish(self):
        app = self.server.app
        with app.conns_lock:
            app.conns.discard((self.connection, self.server.role))
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, fmt, *args):
        if self.server.app.args.verbose:
            sys.stderr.write("standin: %s %s\n" % (self.address_string(), fmt % args))

    def send_response(self, code, message=None):
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("date", self.date_time_string())
        self.send_header("server", "uvicorn")

    def read_request_body(self):
        te = self.headers.get("transfer-encoding", "")
        if "chunked" in te.lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        n = int(self.headers.get("content-length", 0) or 0)
        return self.rfile.read(n) if n > 0 else b""

    def write_response(self, resp, head_only=False):
        self.send_response(resp.status)
        if resp.content_type:
            self.send_header("content-type", resp.content_type)
        for k, v in resp.headers:
            self.send_header(k, v)
        self.send_header("content-length", str(len(resp.body)))
        self.end_headers()
        if not head_only and resp.body:
            self.wfile.write(resp.body)
        self.wfile.flush()

    def drop(self, rst):
        """End the connection without a response: FIN (empty reply) or RST (connection reset)."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        if rst:
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.rfile.close()
                self.connection.close()
            except OSError:
                pass
        else:
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def dispatch(self):
        app = self.server.app
        self.conn_req += 1
        try:
            body = self.read_request_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        split = urlsplit(self.path)
        raw_path, query = split.path, split.query
        path = unquote(raw_path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        head_only = self.command == "HEAD"

        if path.startswith("/_control/") or path == "/_control":
            try:
                resp = app.control(self.command, path, query, body)
            except (ValueError, TypeError, AttributeError) as e:
                resp = Response(400, json.dumps({"error": str(e)}).encode(), "application/json")
            self.write_response(resp)
            if resp.after is not None:
                resp.after()
            return
        if self.server.role != "api":
            self.write_response(Response(404, b'{"error":"control port"}', "application/json"))
            return

        entry = {"seq": 0, "time": time.time(), "conn": self.conn_id, "conn_req": self.conn_req,
                 "client_port": self.client_address[1], "method": self.command, "path": path, "query": query,
                 "headers": {k: ("***" if k in ("authorization", "proxy-authorization") else v)
                             for k, v in headers.items()},
                 "body": None, "fault": None, "status": None, "outcome": "not_applied", "delivery": "pending"}
        entry["time_iso"] = datetime.fromtimestamp(entry["time"], timezone.utc).isoformat().replace("+00:00", "Z")
        if body:
            try:
                entry["body"] = json.loads(body)
            except ValueError:
                entry["body"] = body[:4096].decode("utf-8", "replace")
        app.add_log(entry)

        def finish_entry(**kw):
            with app.lock:
                entry.update(kw)

        # A reverse proxy's basic auth sits in front of everything.
        if app.args.user is not None:
            want = "Basic " + base64.b64encode(("%s:%s" % (app.args.user, app.args.password or "")).encode()).decode()
            if headers.get("authorization") != want:
                resp = Response(401, NGINX_401, "text/html", [("www-authenticate", 'Basic realm="Spoolman"')])
                self.write_response(resp, head_only)
                finish_entry(status=401, delivery="sent")
                return

        rule = app.take_fault(self.command, path)
        if rule is not None:
            entry["fault"] = rule.mode
            if rule.mode == "refuse":
                finish_entry(delivery="reset" if rule.rst else "dropped")
                self.drop(rule.rst)
                return
            if rule.mode == "500":
                if rule.style == "json":
                    resp = r_json(rule.status, {"detail": "Internal Server Error"})
                else:
                    resp = Response(rule.status, b"Internal Server Error", "text/plain; charset=utf-8")
                self._send(resp, head_only, finish_entry)
                return
            if rule.mode == "not_json":
                if rule.style == "truncated":
                    resp = Response(200, TRUNCATED_JSON, "application/json")
                else:
                    resp = Response(200, SPA_INDEX, "text/html; charset=utf-8")
                self._send(resp, head_only, finish_entry)
                return
            if rule.mode == "404":
                m = re.search(r"/spool/(\d+)(/|$)", path)
                resp = r_msg(404, "No spool with ID %s found." % m.group(1)) if m else r_not_found()
                self._send(resp, head_only, finish_entry)
                return
            if rule.mode == "delay" and rule.when == "before_apply":
                time.sleep(rule.delay_s)

        # Route into the v1 app.
        if path == app.prefix or path.startswith(app.prefix + "/"):
            sub = path[len(app.prefix):]
            req = Request(self.command, sub, parse_qsl(query, keep_blank_values=True), headers, body)
            with app.lock:
                if (app.version != "0.22.1" and self.command in UNSAFE_METHODS and not origin_trusted(headers)):
                    resp = r_msg(403, "Request refused: it came from an origin this Spoolman instance does not "
                                      "trust. Set SPOOLMAN_CORS_ORIGIN if this origin should be allowed.")
                else:
                    try:
                        resp = app.api.handle(req, headers.get("host"), app.prefix, query)
                    except Exception as e:     # an unhandled exception is a plain-text 500, as in Starlette
                        sys.stderr.write("spoolman_standin: %s: %r\n" % (path, e))
                        resp = r_500()
                entry_update = {"outcome": "applied" if req.applied else "not_applied", "status": resp.status}
                entry_update.update(req.info)
                entry.update(entry_update)
        elif app.args.base_path and path == app.args.base_path:
            resp = Response(307, b"", None, [("location", "http://%s%s/" % (headers.get("host", ""), path))])
            finish_entry(status=307)
        else:
            resp = r_not_found()
            finish_entry(status=404)

        if rule is not None and rule.mode == "apply_then_drop":
            finish_entry(delivery="reset" if rule.rst else "dropped", status=None)
            self.drop(rule.rst)
            return
        if rule is not None and rule.mode == "delay" and rule.when == "after_apply":
            time.sleep(rule.delay_s)
        self._send(resp, head_only, finish_entry)

    def _send(self, resp, head_only, finish_entry):
        try:
            self.write_response(resp, head_only)
            finish_entry(status=resp.status, delivery="sent")
        except OSError:
            self.close_connection = True
            finish_entry(status=resp.status, delivery="failed")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = dispatch


# --------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description="Spoolman REST API stand-in with fault injection.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port (printed as LISTENING <port>)")
    ap.add_argument("--version", default="0.26.1", choices=VERSIONS, help="Spoolman version to imitate")
    ap.add_argument("--seed", help="JSON: a GET /api/v1/spool list, or an object with a \"spools\" list")
    ap.add_argument("--user", help="require HTTP basic auth (as a reverse proxy in front would)")
    ap.add_argument("--password", default="")
    ap.add_argument("--base-path", default="", help="like SPOOLMAN_BASE_PATH, e.g. /spoolman")
    ap.add_argument("--control-port", type=int, default=None,
                    help="also serve /_control on this port (stays up while the API is 'down')")
    ap.add_argument("--keepalive-timeout", type=float, default=5.0, help="idle keep-alive timeout, s (uvicorn: 5)")
    ap.add_argument("--log-max", type=int, default=20000, help="request log entries kept")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    bp = args.base_path.strip("/")
    args.base_path = "/" + bp if bp else ""

    if args.seed:
        with open(args.seed, encoding="utf-8") as fh:
            dataset = dataset_from_seed(json.load(fh))
    else:
        dataset = default_dataset()
    app = App(args, dataset)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    if args.control_port is not None:
        app.control_server = app.make_server(args.control_port, "control")
        print("CONTROL %d" % app.control_server.server_address[1], flush=True)
    app.api_server = app.make_server(args.port, "api")
    print("LISTENING %d" % app.api_server.server_address[1], flush=True)

    while not stop.wait(0.5):
        pass
    for srv in (app.api_server, app.control_server):
        if srv is not None:
            srv.shutdown()
            srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
