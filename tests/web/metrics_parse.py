#!/usr/bin/env python3
"""tests/web/metrics_parse.py: a strict reader of the Prometheus text exposition format 0.0.4, for the tests.

    python3 tests/web/metrics_parse.py FILE

Checks FILE line by line and, when it is valid, prints each sample as `series value` (the series exactly as
written: name{labels}) and exits 0; else prints `FILE:LINE: what is wrong` on stderr and exits 1.  Checked:
metric and label names, label values (only the escapes \\\\ \\" \\n), values (floats, +Inf, -Inf, NaN), optional
integer timestamps, one HELP and one TYPE per family and before its samples, a family's samples together,
no series twice, the suffixes a type allows (_total for our counters; _bucket/_sum/_count for histograms),
counters >= 0, histogram buckets with an `le`, cumulative, ending with +Inf equal to _count.
"""
import math
import re
import sys

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*\Z')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*\Z')
TYPES = {'counter', 'gauge', 'histogram', 'summary', 'untyped'}


class Bad(Exception):
    pass


def parse_value(s):
    if s in ('+Inf', 'Inf'):
        return math.inf
    if s == '-Inf':
        return -math.inf
    if s == 'NaN':
        return math.nan
    if not re.fullmatch(r'[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?', s):
        raise Bad('not a number: %r' % s)
    return float(s)


def parse_labels(s, i):
    """Parses {a="x",b="y"} from s[i] == '{'; returns (labels list, index after '}')."""
    labels = []
    i += 1
    while True:
        if s[i:i + 1] == '}':
            return labels, i + 1
        m = re.match(r'([a-zA-Z_][a-zA-Z0-9_]*)="', s[i:])
        if not m:
            raise Bad('bad label at %r' % s[i:i + 20])
        name = m.group(1)
        i += m.end()
        val = []
        while True:
            if i >= len(s):
                raise Bad('unterminated label value')
            c = s[i]
            if c == '\\':
                e = s[i + 1:i + 2]
                if e not in ('\\', '"', 'n'):
                    raise Bad('bad escape \\%s in a label value' % e)
                val.append({'\\': '\\', '"': '"', 'n': '\n'}[e])
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == '\n':
                raise Bad('newline in a label value')
            else:
                val.append(c)
                i += 1
        if name in [n for n, _ in labels]:
            raise Bad('label %s twice' % name)
        labels.append((name, ''.join(val)))
        if s[i:i + 1] == ',':
            i += 1
        elif s[i:i + 1] != '}':
            raise Bad('expected , or } after a label')


def family_of(name, types):
    for suffix in ('_bucket', '_sum', '_count'):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) in ('histogram', 'summary'):
            return name[:-len(suffix)]
    return name


def check(text):
    if text and not text.endswith('\n'):
        raise Bad('the last line has no newline')
    helps, types, done, seen, samples = {}, {}, set(), set(), []
    current = None
    hist = {}
    for n, line in enumerate(text.split('\n')[:-1], 1):
        try:
            if line == '':
                continue
            if line.startswith('#'):
                parts = line.split(' ', 3)
                if len(parts) >= 3 and parts[1] in ('HELP', 'TYPE'):
                    name = parts[2]
                    if not NAME.match(name):
                        raise Bad('bad metric name %r' % name)
                    if name in done:
                        raise Bad('%s %s after its samples' % (parts[1], name))
                    table = helps if parts[1] == 'HELP' else types
                    if name in table:
                        raise Bad('second %s of %s' % (parts[1], name))
                    value = parts[3] if len(parts) > 3 else ''
                    if parts[1] == 'TYPE' and value not in TYPES:
                        raise Bad('unknown type %r' % value)
                    table[name] = value
                continue
            m = re.match(r'[a-zA-Z_:][a-zA-Z0-9_:]*', line)
            if not m:
                raise Bad('a sample line must start with a metric name')
            name = m.group(0)
            i = m.end()
            labels = []
            if line[i:i + 1] == '{':
                labels, i = parse_labels(line, i)
            series = line[:i]
            rest = line[i:]
            if not rest.startswith(' '):
                raise Bad('no space before the value')
            fields = rest[1:].split(' ')
            if len(fields) not in (1, 2) or fields[0] == '':
                raise Bad('want a value and an optional timestamp')
            value = parse_value(fields[0])
            if len(fields) == 2 and not re.fullmatch(r'-?\d+', fields[1]):
                raise Bad('bad timestamp %r' % fields[1])
            fam = family_of(name, types)
            if fam != current:
                if fam in done:
                    raise Bad('samples of %s are not together' % fam)
                if current is not None:
                    done.add(current)
                current = fam
            if fam not in types:
                raise Bad('%s has no TYPE line before its samples' % fam)
            if fam not in helps:
                raise Bad('%s has no HELP line' % fam)
            key = (name, tuple(sorted(labels)))
            if key in seen:
                raise Bad('series %s twice' % series)
            seen.add(key)
            t = types[fam]
            if t == 'counter':
                if not name.endswith('_total'):
                    raise Bad('counter %s does not end in _total' % name)
                if not value >= 0:
                    raise Bad('counter %s is %r' % (name, value))
            if t == 'histogram':
                if name == fam:
                    raise Bad('histogram sample %s without _bucket/_sum/_count' % name)
                rest_labels = tuple(sorted((k, v) for k, v in labels if k != 'le'))
                h = hist.setdefault((fam, rest_labels), {'buckets': [], 'count': None})
                if name.endswith('_bucket'):
                    le = dict(labels).get('le')
                    if le is None:
                        raise Bad('bucket without le')
                    h['buckets'].append((parse_value(le), value))
                elif name.endswith('_count'):
                    h['count'] = value
            samples.append((series, value))
        except Bad as e:
            raise Bad('line %d: %s' % (n, e.args[0]))
    for (fam, lab), h in hist.items():
        b = h['buckets']
        if not b or b[-1][0] != math.inf:
            raise Bad('histogram %s%s has no +Inf bucket last' % (fam, dict(lab)))
        for (l1, v1), (l2, v2) in zip(b, b[1:]):
            if not (l2 > l1 and v2 >= v1):
                raise Bad('histogram %s%s: buckets not increasing' % (fam, dict(lab)))
        if h['count'] != b[-1][1]:
            raise Bad('histogram %s%s: _count %r != +Inf bucket %r' % (fam, dict(lab), h['count'], b[-1][1]))
    return samples


def main():
    if len(sys.argv) != 2:
        print('usage: metrics_parse.py FILE', file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding='utf-8') as f:
        text = f.read()
    try:
        samples = check(text)
    except Bad as e:
        print('%s: %s' % (sys.argv[1], e.args[0]), file=sys.stderr)
        return 1
    for series, value in samples:
        print('%s %.17g' % (series, value))
    return 0


if __name__ == '__main__':
    sys.exit(main())
