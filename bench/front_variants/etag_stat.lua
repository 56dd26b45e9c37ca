-- Measurement only (bench/front_cpu.py): the ETag sidecar of a public file, cached per nginx worker
-- and revalidated on every request by one stat() of the sidecar (inode, mtime, size) through LuaJIT FFI.
local ffi = require "ffi"
ffi.cdef[[
typedef struct { long sec; long nsec; } packyard_timespec;
typedef struct {
    unsigned long dev, ino, nlink;
    unsigned int mode, uid, gid; int pad0;
    unsigned long rdev; long size, blksize, blocks;
    packyard_timespec atim, mtim, ctim;
    long reserved[3];
} packyard_stat;
int stat(const char *path, packyard_stat *buf);
]]
local C = ffi.C
local st = ffi.new("packyard_stat")
local cache = {}  -- sidecar path -> {inode, mtime s, mtime ns, size, ETag}
local M = {}

local function read_tag(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local v = f:read("*a")
    f:close()
    v = v and v:match("^[^\n]*"):match("^%s*(.-)%s*$")  -- the ETag: the sidecar's first line
    if not v or not v:match('^W?/?"[\33\35-\126]*"$') then return nil end
    return v
end

function M.etag(path)
    if C.stat(path, st) ~= 0 then
        cache[path] = nil
        return ""
    end
    local e = cache[path]
    local ino, sec, nsec, size = tonumber(st.ino), tonumber(st.mtim.sec), tonumber(st.mtim.nsec), tonumber(st.size)
    if e and e[1] == ino and e[2] == sec and e[3] == nsec and e[4] == size then
        return e[5]
    end
    local v = read_tag(path)
    cache[path] = v and {ino, sec, nsec, size, v} or nil
    return v or ""
end

return M
