// The njs front as shipped before the switch to Lua (deploy/nginx/ at dc9b576), kept only as a
// reference for bench/front_cpu.py.
//
// nginx serves public documents and blobs from <data_dir>/public/; packyard writes each one's exact
// ETag header value beside it, in <data_dir>/public-etags/<same path>.etag. nginx's own ETag
// (mtime-size) must never reach a client: bundler 2.3 checks that the compact index ETag is the MD5
// of the body. These functions back `js_set` variables, evaluated once per request that reaches a
// public location; an empty value sends the request to the app.

var fs = require('fs');

var QUOTED_ETAG = /^(W\/)?"[\x21\x23-\x7e]*"$/;

// The ETag to send for $packyard_file, or '' when nginx must not answer (no sidecar: not public,
// not written yet, or being removed).
function etag(r) {
    try {
        var value = fs.readFileSync(r.variables.packyard_etags + r.variables.packyard_file + '.etag', 'utf8').split('\n')[0].trim();
        return QUOTED_ETAG.test(value) ? value : '';
    } catch (e) {
        return '';
    }
}

function opaque(tag) {
    return tag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

// '1' when If-None-Match names the current ETag: the weak comparison of RFC 9110, as the app does.
function notModified(r) {
    var header = r.headersIn['If-None-Match'];
    var current = r.variables.packyard_etag_value;
    if (!header || !current) {
        return '';
    }
    var wanted = opaque(current);
    var candidates = header.split(',');
    for (var i = 0; i < candidates.length; i++) {
        var candidate = candidates[i].trim();
        if (candidate === '*' || opaque(candidate) === wanted) {
            return '1';
        }
    }
    return '';
}

// '1' when a Range request must go to the app. nginx answers a single `bytes=N-[M]` range inside
// the body, not covering all of it, with 206 exactly as the app does. The app answers the rest in
// its own ways — a range at or past the end with 416 on PyPI but with the full body and 200 on the
// RubyGems compact index (bundler 2.3 needs that), a whole-body range with 200 — so those, suffix
// ranges and anything unusual go to the app.
function rangeNeedsApp(r) {
    var header = r.headersIn['Range'];
    if (!header) {
        return '';
    }
    var match = /^bytes=(\d+)-(\d*)$/.exec(header.replace(/[ \t]/g, ''));
    if (!match) {
        return '1';
    }
    var size;
    try {
        size = fs.statSync(r.variables.document_root + r.variables.packyard_file).size;
    } catch (e) {
        return '1';
    }
    var first = Number(match[1]);
    var last = match[2] === '' ? size - 1 : Number(match[2]);
    if (first >= size || last < first || (first === 0 && last >= size - 1)) {
        return '1';
    }
    return '';
}

export default {etag, notModified, rangeNeedsApp};
