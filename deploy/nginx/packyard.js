// njs helpers for packyard's nginx front (see docs/nginx.md).
//
// nginx serves public documents and blobs from <data_dir>/public/; packyard writes each one's exact
// ETag header value beside it, in <data_dir>/public-etags/<same path>.etag. nginx's own ETag
// (mtime-size) must never reach a client: bundler 2.3 checks that the compact index ETag is the MD5
// of the body. These functions back `js_set` variables, evaluated once per request that reaches a
// public location; an empty value sends the request to the app.

var fs = require('fs');

var QUOTED_ETAG = /^(W\/)?"[\x21\x23-\x7e]*"$/;
var SHA256_HEX = /^[0-9a-f]{64}$/;

function sidecarEtag(r, file) {
    try {
        var value = fs.readFileSync(r.variables.packyard_etags + file + '.etag', 'utf8').trim();
        return QUOTED_ETAG.test(value) ? value : '';
    } catch (e) {
        return '';
    }
}

// A PyPI file is a symlink into content-addressed blob storage (`ab/cd/<sha256>`), and the app's
// ETag for it is that quoted sha256, so the link itself names the ETag when no sidecar exists.
function blobEtag(r, file) {
    try {
        var name = fs.realpathSync(r.variables.document_root + file).split('/').pop();
        return SHA256_HEX.test(name) ? '"' + name + '"' : '';
    } catch (e) {
        return '';
    }
}

// The ETag to send for $packyard_file, or '' when nginx must not answer (no sidecar: not public,
// not written yet, or being removed).
function etag(r) {
    var file = r.variables.packyard_file;
    var value = sidecarEtag(r, file);
    if (!value && r.variables.packyard_blob_etag === 'sha256') {
        value = blobEtag(r, file);
    }
    return value;
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

// '1' when a RubyGems Range request must go to the app. nginx answers a single `bytes=N-[M]` range
// inside the body with 206 exactly as the app does; the app answers a range at or past the end (and
// one covering the whole body) with the full body and 200, which bundler 2.3 needs, where nginx
// would say 416 — so those, suffix ranges and anything unusual go to the app.
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
