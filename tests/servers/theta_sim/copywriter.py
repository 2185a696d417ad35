"""theta_sim.copywriter -- property posts written from supplied facts.

When the last user message of a chat call has a line starting with
``FACTS (JSON):`` followed by a JSON object, the chat services answer
with a short post built from those facts instead of the generic
"Simulated ... answer" text (README "Copywriter mode").  The post is a
pure function of the facts and of the hallucination rules that apply to
this generation, so the same facts and the same attempt give the same
text.

Hallucination rules (config ``copy_hallucinations``) are a list of
``{"when", "add", "price_factor", "superlative", "times"}``.  A rule
applies when ``when`` occurs in the FACTS JSON text and it has applied
fewer than ``times`` times (default 1, -1 = always) to the same facts
text since the last reset.  Its effects: ``add`` put into the post (a
phrase after the headline, or a sentence of its own when it ends with
. ! or ?), ``price_factor`` multiplying the price written, and
``superlative`` put in front of the post.
"""
import hashlib
import json
import re

MARKER = "FACTS (JSON):"
MAX_CHARS = 480
DEFAULT_TAG = "RealEstate"
RULE_KEYS = ("when", "add", "price_factor", "superlative", "times")
EFFECT_KEYS = ("add", "price_factor", "superlative")
SYMBOLS = {"EUR": "\u20ac", "USD": "$", "GBP": "\u00a3"}
MONTHS = ("January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December")
URL_RE = re.compile(r"\S*(?:[A-Za-z][A-Za-z0-9+.-]*://|www\.)\S*")


class RuleError(ValueError):
    pass


def check_rules(rules):
    """Raise RuleError unless ``rules`` is a valid rule list."""
    if not isinstance(rules, list):
        raise RuleError("expected a list of rules")
    for i, r in enumerate(rules):
        where = "rule %d" % i
        if not isinstance(r, dict):
            raise RuleError("%s: expected an object" % where)
        unknown = sorted(set(r) - set(RULE_KEYS))
        if unknown:
            raise RuleError("%s: unknown keys %s" % (where, unknown))
        if not isinstance(r.get("when"), str) or not r["when"]:
            raise RuleError("%s: 'when' must be a non-empty string" % where)
        if not any(k in r for k in EFFECT_KEYS):
            raise RuleError("%s: needs add, price_factor or superlative"
                            % where)
        for key in ("add", "superlative"):
            if key in r and (not isinstance(r[key], str)
                             or not r[key].strip()):
                raise RuleError("%s: %r must be a non-empty string"
                                % (where, key))
        pf = r.get("price_factor", 1)
        if not _is_number(pf) or not pf > 0 or pf == float("inf"):
            raise RuleError("%s: 'price_factor' must be a number > 0"
                            % where)
        times = r.get("times", 1)
        if isinstance(times, bool) or not isinstance(times, int) or \
                times < -1:
            raise RuleError("%s: 'times' must be an integer >= -1" % where)


def find_facts(text):
    """(facts JSON text, facts object) from the first ``FACTS (JSON):``
    line whose JSON parses as an object, else None.  The JSON starts
    after the marker, on the same line or the next ones, and ends at a
    blank line or the end of the text; anything after the object in that
    block is ignored."""
    lines = text.splitlines()
    decoder = json.JSONDecoder()
    for i, line in enumerate(lines):
        head = line.lstrip()
        if not head.startswith(MARKER):
            continue
        block = [head[len(MARKER):]]
        for nxt in lines[i + 1:]:
            if not nxt.strip():
                break
            block.append(nxt)
        raw = "\n".join(block).strip()
        try:
            obj, end = decoder.raw_decode(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            return raw[:end], obj
    return None


# -- the post ----------------------------------------------------------------
def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number(v):
    """A number from a JSON number or a numeric string, else None."""
    if _is_number(v):
        return v if v == v and abs(v) != float("inf") else None
    if isinstance(v, str):
        s = re.sub(r"[\s,_'\u00a0\u202f\u20ac$\u00a3]", "", v)
        if re.fullmatch(r"\d+(\.\d+)?", s):
            return float(s) if "." in s else int(s)
    return None


def _plain(n):
    """85 -> "85", 85.5 -> "85.5", 1200 -> "1,200"."""
    if float(n).is_integer():
        return "{:,}".format(int(n))
    return "{:,.2f}".format(n).rstrip("0").rstrip(".")


def _money(n):
    if float(n).is_integer():
        return "{:,}".format(int(n))
    return "{:,.2f}".format(n)


def _text(v):
    """A fact as one line of plain text: no URL, no '#'."""
    if isinstance(v, str):
        return " ".join(URL_RE.sub("", v.replace("#", "")).split())
    if _is_number(v):
        return _plain(v)
    return ""


def _join(items):
    items = [i for i in items if i]
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _article(noun):
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _count(v):
    n = _number(v)
    return int(n) if n is not None and n >= 1 and float(n).is_integer() \
        else None


def _date(v):
    s = _text(v)
    m = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", s)
    if m and 1 <= int(m.group(2)) <= 12:
        month = "%s %s" % (MONTHS[int(m.group(2)) - 1], m.group(1))
        return ("%d %s" % (int(m.group(3)), month)) if m.group(3) else month
    return s


def _price(raw, currency, factor):
    if isinstance(raw, dict):
        currency = raw.get("currency", currency)
        raw = raw.get("amount", raw.get("value"))
    n = _number(raw)
    if n is None:
        return _text(raw)
    if currency in (None, "") and isinstance(raw, str):
        currency = next((c for c in SYMBOLS.values() if c in raw), None)
    amount = n * factor
    if float(n).is_integer():
        amount = round(amount)
    text = _money(amount)
    cur = _text(currency)
    if cur in SYMBOLS.values():
        return cur + text
    if cur.upper() in SYMBOLS:
        return SYMBOLS[cur.upper()] + text
    return text + (" " + cur if cur else "")


def _hashtag(topic):
    words = re.findall(r"[^\W_]+", _text(topic))
    tag = "".join(w[:1].upper() + w[1:] for w in words)[:60]
    return "#" + (tag or DEFAULT_TAG)


def _mentions(title, n, word):
    return re.search(r"\b%d\s*-?\s*%s" % (n, word), title, re.I) is not None


def write_post(facts, rules=()):
    """The post for ``facts`` with the effects of ``rules`` (already
    chosen to apply) -- plain text, at most MAX_CHARS characters, no
    URL, one hashtag at the end."""
    fields = facts.get("fields")
    if not isinstance(fields, dict):
        fields = facts

    def get(key):
        v = facts.get(key)
        return v if v not in (None, "", []) else fields.get(key)

    phrases, sentences, supers, factor = [], [], [], 1
    for r in rules:
        add = _text(r.get("add"))
        if add:
            (sentences if add[-1] in ".!?" else phrases).append(add)
        if r.get("superlative"):
            supers.append(_text(r["superlative"]))
        factor *= r.get("price_factor", 1)

    title = _text(get("title")) or _text(get("name"))
    title = title.rstrip(" .,;:")
    ptype = _text(fields.get("type"))
    bedrooms = _count(fields.get("bedrooms"))
    rooms = _count(fields.get("rooms"))
    details = []
    if title:
        head = title
        if ptype and ptype.lower() not in title.lower():
            details.append(_article(ptype))
        if bedrooms and not _mentions(title, bedrooms, "bed"):
            details.append("%d bedroom%s" % (bedrooms, "s"[:bedrooms > 1]))
        if rooms and not _mentions(title, rooms, "room"):
            details.append("%d room%s" % (rooms, "s"[:rooms > 1]))
    else:
        noun = ptype or "home"
        if bedrooms:
            head = "%d-bedroom %s" % (bedrooms, noun)
            if rooms:
                details.append("%d rooms" % rooms)
        elif rooms:
            head = "%d-room %s" % (rooms, noun)
        else:
            head = ptype or "New listing"
        head = head[:1].upper() + head[1:]
    location = _text(fields.get("location"))
    if location and location.lower() not in head.lower():
        head += " in " + location
    for p in phrases:
        head += " " + p
    surface = _number(fields.get("surface_m2"))
    if surface is not None:
        details.append("%s m\u00b2" % _plain(surface))
    amenities = fields.get("amenities")
    if isinstance(amenities, list):
        details.append(_join([_text(a) for a in amenities]))
    elif amenities:
        details.append(_text(amenities))
    beach = _number(fields.get("beach_distance_m"))
    if beach is not None:
        details.append("%s m from the beach" % _plain(beach))
    if fields.get("price") not in (None, ""):
        details.append(_price(fields["price"], fields.get("currency"),
                              factor))
    details = [d.strip(" ,;:") for d in details if d.strip(" ,;:")]
    first = head + (": " + ", ".join(details) if details else "")
    parts = supers + [first.rstrip(" .") + "."] + sentences
    available = fields.get("available_from")
    if available not in (None, ""):
        when = _date(available)
        if when.lower() in ("now", "immediately", "today"):
            parts.append("Available now.")
        elif when:
            parts.append("Available from %s." % when)
    body = re.sub(r"\s+([,.:;!?])", r"\1", " ".join(parts))
    tag = _hashtag(get("topic")) if get("topic") else "#" + DEFAULT_TAG
    room = MAX_CHARS - len(tag) - 1
    if len(body) > room:
        cut = body[:room - 1]
        if " " in cut:
            cut = cut[:cut.rindex(" ")]
        body = cut.rstrip(" ,;:") + "\u2026"
    return body + " " + tag


# -- one generation ----------------------------------------------------------
def generate(sim, alias, route, user_text):
    """The post for this chat call, or None when the last user message
    (``user_text``) has no FACTS.  Picks the rules that apply, counts
    them and records the generation for ``GET /__sim__/copy``."""
    found = find_facts(user_text)
    if found is None:
        return None
    text, facts = found
    rules = sim.config["copy_hallucinations"]
    applied = []
    for i, rule in enumerate(rules):
        if rule["when"] not in text:
            continue
        times = rule.get("times", 1)
        used = sim.copy_counts.get((i, text), 0)
        if times != -1 and used >= times:
            continue
        sim.copy_counts[(i, text)] = used + 1
        applied.append(i)
    attempt = sim.copy_attempts.get(text, 0) + 1
    sim.copy_attempts[text] = attempt
    post = write_post(facts, [rules[i] for i in applied])
    sim.copy_generations.append({
        "service": alias, "path": route,
        "facts_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "attempt": attempt, "rules_applied": applied, "text": post})
    return post
