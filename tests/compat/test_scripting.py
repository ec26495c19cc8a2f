"""EVAL, EVALSHA, SCRIPT, FUNCTION and FCALL, caskd against redis-server: replies and
errors byte for byte, in RESP2 and RESP3 (conversions both ways, the sandbox, the
redis API, pcall, cjson/cmsgpack/bit)."""

from __future__ import annotations

import pytest

from tests.compat.differences import FUNCTION_ORDER
from tests.compat.harness import Pair


@pytest.fixture(autouse=True)
def no_libraries_left(servers):
    """FLUSHALL keeps function libraries and scripts: the suite's later tests (which
    share the two servers) must not find this module's."""
    yield
    pair = Pair(*servers)
    pair.both("FUNCTION", "FLUSH")
    pair.both("SCRIPT", "FLUSH")
    pair.close()


def run(pair, *commands: tuple) -> None:
    for command in commands:
        pair.check(*command)


def evals(pair, *scripts: str, keys: tuple = (), args: tuple = ()) -> None:
    for script in scripts:
        pair.check("EVAL", script, len(keys), *keys, *args)


# Lua -> Redis: what a script returns, as the caller gets it.
RETURNS = [
    "return 1", "return -7", "return 3.99", "return -3.99", "return 1e20", "return 0/0",
    "return 'hello'", "return ''", "return true", "return false", "return nil",
    "return {}", "return {1, 2, 3}", "return {1, 'two', 3.5, {4, {5}}}",
    "return {1, 2, nil, 4}", "return {1, false, 3}", "return {true, false}",
    "return {a = 1, b = 2}", "return {1, 2, a = 3}",
    "return {err = 'My Error'}", "return {err = 'ERR my error'}", "return {ok = 'FINE'}",
    "return {ok = 'multi\\nline'}", "return {err = 5}", "return {ok = 5}",
    "return redis.status_reply('STATUS')", "return redis.error_reply('MYERR custom')",
    "return redis.error_reply('-LEADING dash')", "return redis.error_reply('nocode')",
    "return {1, {err = 'nested'}, {ok = 'fine'}}",
    "return {double = 3.14}", "return {double = 1}", "return {big_number = '123456789012'}",
    "return {verbatim_string = {format = 'txt', string = 'hi'}}",
    "return {map = {k = 'v'}}", "return {set = {m = true}}",
    "return {1, {map = {x = 1}}, {set = {y = true}}}",
    "return function() end", "return KEYS", "return ARGV",
    "return string.format('%d %s %.2f', 42, 'x', 1.5)", "return tostring(1e15)",
    "return tostring(123456789012345)", "return 9007199254740993",
    "return {1, 2, 3, nil, 5, 6}", "return #ARGV",
]

# What the same returns look like after redis.setresp(3) (booleans, doubles...).
RESP3_RETURNS = [
    "redis.setresp(3) return true", "redis.setresp(3) return false",
    "redis.setresp(3) return {double = 2.5}", "redis.setresp(3) return {map = {a = 'b'}}",
    "redis.setresp(3) return {set = {a = true}}",
    "redis.setresp(3) return {big_number = '1234567890123456789012'}",
]

# Redis -> Lua: replies of commands as a script sees them, returned as is or typed.
CALLS = [
    "return redis.call('SET', KEYS[1], 'v')", "return redis.call('GET', KEYS[1])",
    "return redis.call('GET', 'missing')", "return type(redis.call('GET', 'missing'))",
    "return redis.call('INCR', 'counter')", "return redis.call('INCRBYFLOAT', 'f', '1.5')",
    "return type(redis.call('PING'))", "return redis.call('PING')",
    "return redis.call('PING')['ok']",
    "redis.call('RPUSH', 'list', 'a', 'b', 'c') return redis.call('LRANGE', 'list', 0, -1)",
    "redis.call('HSET', 'h', 'f', 'v') return redis.call('HGETALL', 'h')",
    "redis.call('ZADD', 'z', 1.5, 'm') return redis.call('ZRANGE', 'z', 0, -1, 'WITHSCORES')",
    "return redis.call('SET', 'num', 10)", "return redis.call('SET', 'n2', 3.5)",
    "return redis.call('GET', 'num')", "return redis.call('EXISTS', KEYS[1], 'missing')",
    "return redis.call('DEL', 'nothing')", "return redis.call('TYPE', KEYS[1])",
    "return redis.call('TYPE', KEYS[1])['ok']",
    "return redis.call('OBJECT', 'ENCODING', 'missing')",
    "return redis.pcall('INCR', KEYS[1])",
    "local r = redis.pcall('INCR', KEYS[1]) return type(r) .. ':' .. r['err']",
    "return redis.call('set', KEYS[1], 'x', 'nx')", "return redis.call('mget', KEYS[1], 'x')",
    "redis.setresp(3) return redis.call('HGETALL', 'h')",
    "redis.setresp(3) local r = redis.call('HGETALL', 'h') return r['map']['f']",
    "redis.setresp(3) return redis.call('GET', 'missing')",
    "redis.setresp(3) return type(redis.call('GET', 'missing'))",
    "redis.setresp(3) return redis.call('ZSCORE', 'z', 'm')",
    "redis.setresp(3) return redis.call('ZSCORE', 'z', 'm')['double']",
    "redis.setresp(3) return redis.call('SMEMBERS', 'noset')",
    "redis.call('SADD', 's', 'one') redis.setresp(3) return redis.call('SMEMBERS', 's')",
    "redis.setresp(2) return redis.call('HGETALL', 'h')",
    "return redis.call('SELECT', 1)", "redis.call('SELECT', 1) return redis.call('GET', KEYS[1])",
]

# Errors: raised by the script, by commands, by the sandbox; their texts and lines.
ERRORS = [
    "error('boom')", "error('boom', 0)", "error({err = 'CUSTOM raised'})",
    "error()", "error(42)",
    "local x = nil + 1", "\n\nlocal t = nil\nreturn t.x",
    "return redis.call('INCR', KEYS[1])", "redis.call('INCR', KEYS[1])",
    "return redis.call('nosuchcommand')", "return redis.call('GET')",
    "return redis.call('GET', 'a', 'b')", "return redis.call()",
    "return redis.call({})", "return redis.call('GET', {})", "return redis.call('GET', nil)",
    "return redis.call('BLPOP', 'l', 0)", "return redis.call('MULTI')",
    "return redis.call('EVAL', 'return 1', 0)",
    "return redis.call('CONFIG', 'nosuch')", "return redis.call('SET', 'k')",
    "return redis.pcall('nosuchcommand')", "return redis.pcall('GET')",
    "x = 5", "return undefined_global", "string.custom = 1", "math.pi = 3",
    "redis.call = nil", "_G.x = 1", "setmetatable(_G, nil)",
    "return os.time()", "return io", "return loadfile", "return dofile", "return print",
    "return require", "return debug", "return package",
    "return pcall(error, 'e')", "return pcall(error, {err = 'TABLE err'})",
    "return {pcall(redis.call, 'INCR', KEYS[1])}",
    "local ok, err = pcall(redis.call, 'INCR', KEYS[1]) return err",
    "local ok, err = pcall(function() error('in pcall') end) return err",
    "return redis.setresp(4)", "return redis.setresp()", "return redis.log()",
    "return redis.log('x', 'msg')", "return redis.log(99, 'msg')",
    "return redis.sha1hex()", "return redis.error_reply()", "return redis.status_reply(1)",
    "return redis.set_repl()", "return redis.set_repl(9)",
    "return cjson.decode('{')", "return cjson.encode(function() end)",
    "return bit.band('x')", "return math.random(0)", "return math.random(1, 2, 3)",
    "return string.rep()",
    "syntax error here", "return 'unfinished", "for i = 1 do end",
]

# The API, the libraries and the sandbox's built-ins.
LIBRARIES = [
    "return redis.sha1hex('')", "return redis.sha1hex('abc')", "return redis.sha1hex(12)",
    "return redis.REDIS_VERSION", "return redis.REDIS_VERSION_NUM",
    "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
    "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_REPLICA, redis.REPL_ALL}",
    "redis.log(redis.LOG_DEBUG, 'quiet') return 1", "redis.set_repl(redis.REPL_ALL) return 1",
    "return redis.replicate_commands()", "return redis.breakpoint()",
    "return cjson.encode({1, 2, 3})", "return cjson.encode({a = 1})",
    "return cjson.encode({})", "return cjson.encode('x/y\"z\\n')",
    "return cjson.encode({1, 'two', {three = 3}, true, false})",
    "return cjson.encode(3.14159265358979)", "return cjson.encode(1e300)",
    "return cjson.encode({[1] = 'a', [2] = 'b', [4] = 'd'})",
    "return cjson.encode(cjson.null)", "return cjson.encode({cjson.null, 1})",
    "return cjson.decode('[1, 2, 3]')", "return cjson.decode('{\"a\": [1, \"x\"]}')['a']",
    "return cjson.decode('\"\\\\u00e9\"')", "return tostring(cjson.decode('null') == cjson.null)",
    "return cjson.decode('3.5') * 2", "return type(cjson.null)",
    "return cjson.encode(cjson.decode('{\"k\":{\"n\":[1,2,{\"d\":true}]}}'))",
    "return cmsgpack.pack(1, 'a', {1, 2}, {x = 1}, true, 1.5, -1, -200, 70000, 2^40, 0.1)",
    "return cmsgpack.unpack(cmsgpack.pack({1, 2, {3, 'x'}}))",
    "return {cmsgpack.unpack(cmsgpack.pack(1, 'two', 3.25, -5, false))}",
    "return cmsgpack.pack(string.rep('x', 40), string.rep('y', 300))",
    "return bit.band(0xff, 0x0f)", "return bit.bor(1, 2, 4)", "return bit.bxor(5, 3)",
    "return bit.bnot(0)", "return bit.lshift(1, 31)", "return bit.rshift(-1, 28)",
    "return bit.arshift(-256, 4)", "return bit.tohex(255)", "return bit.tohex(-1, -4)",
    "return bit.tobit(2^32 + 5)", "return bit.rol(0x12345678, 8)", "return bit.bswap(0x12345678)",
    "return struct.pack('>I2', 258)", "return struct.pack('<i', -2)",
    "return struct.pack('bBhHlL', -1, 255, -2, 65535, -3, 4)",
    "return struct.pack('!4 b i', 1, 2)", "return struct.pack('c3 s', 'abcdef', 'z')",
    "return struct.pack('c0', 'whole')", "return struct.pack('>d f', 1.5, 0.25)",
    "return {struct.unpack('>I2 b', '\\1\\2\\255')}",
    "return {struct.unpack('<i', struct.pack('<i', -123456))}",
    "return {struct.unpack('s c2', 'ab\\0xyz')}", "return {struct.unpack('b c0', '\\3abc')}",
    "return {struct.unpack('>h', 'xx\\1\\2', 3)}", "return struct.size('!8 b d')",
    "return struct.size('i3 h')", "return struct.unpack('>I4', 'ab')",
    "return struct.pack('i', 'x')", "return struct.size('s')", "return struct.pack('q', 1)",
    "return struct.unpack('s', 'abc')", "return struct.pack('i40', 1)",
    "return string.len('abc')", "return string.upper('abc')", "return ('x'):rep(3)",
    "return table.concat({1, 2, 3}, ',')", "return table.getn({1, 2})", "return unpack({1, 2})",
    "return math.floor(3.7)", "return tonumber('0x10')", "return select('#', 1, 2, 3)",
    "return type(loadstring)", "return type(coroutine.create)", "return _VERSION",
    "return type(_G)", "return type(getmetatable)", "return tostring(nil)",
    "return math.random()", "math.randomseed(42) return math.random(100)",
    "math.randomseed(7) return {math.random(10), math.random(5, 6)}",
    "local t = {} for k, v in pairs({a = 1}) do t[#t + 1] = k end return t",
    "return loadstring('return 1 + 1')()", "return pcall(function() return 'ok' end)",
    "return xpcall(function() error('x') end, function(e) return 'handled' end)",
    "return gcinfo() > 0", "return getmetatable(redis.call)",
    "return getmetatable(cjson.encode)",
    "local f, e = loadstring(string.dump(function() return 1 end)) return {type(f), e}",
    "local f, e = loadstring('\\27Lua') return e", "return loadstring('return 7')()",
    "local parts = {'return ', '8'} local i = 0 "
    "return load(function() i = i + 1 return parts[i] end)()",
]


@pytest.mark.parametrize("script", RETURNS)
def test_returns(pair, script):
    pair.check("EVAL", script, 2, "key1", "key2", "arg1", "arg2", "arg3")


@pytest.mark.parametrize("script", RESP3_RETURNS)
def test_resp3_returns(pair, script):
    pair.check("EVAL", script, 0)


@pytest.mark.parametrize("script", CALLS)
def test_command_replies(pair, script):
    pair.check("SET", "key1", "text")
    pair.check("EVAL", script, 1, "key1")


@pytest.mark.parametrize("script", ERRORS)
def test_errors(pair, script):
    pair.check("SET", "key1", "text")
    pair.check("EVAL", script, 1, "key1")


@pytest.mark.parametrize("script", LIBRARIES)
def test_libraries(pair, script):
    pair.check("EVAL", script, 0)


def test_eval_arguments(pair):
    run(pair,
        ("EVAL", "return 1", "x"), ("EVAL", "return 1", "-1"), ("EVAL", "return 1", "2", "a"),
        ("EVAL", "return {KEYS[1], ARGV[1]}", "1", "k", "a"), ("EVAL", "return 1"),
        ("EVAL", "return #KEYS + #ARGV", "0", "a", "b"),
        ("EVAL", b"return '\x00\xff'", "0"), ("EVAL", "return ARGV[1]", "0", b"\x00bin\r\n"),
        ("EVAL", "#!lua\nreturn 1", "0"), ("EVAL", "#!lua flags=no-writes\nreturn 2", "0"),
        ("EVAL", "#!lua flags=no-writes\nreturn redis.call('SET', 'a', 'b')", "0"),
        ("EVAL", "#!lua flags=bogus\nreturn 1", "0"), ("EVAL", "#!python\nreturn 1", "0"),
        ("EVAL", "#!lua x=y\nreturn 1", "0"), ("EVAL", "#!lua", "0"),
        ("EVAL", "#!lua\nerror('line two')", "0"))


@pytest.mark.parametrize("count", [0, 1, 999, 1000, 1001, 5000])
def test_keys_and_argv_of_any_size(pair, count):
    """Up to 1000 arguments reach Lua on its stack, more as two tables: the same
    KEYS and ARGV either way, for scripts and functions."""
    keys = [f"k{n}" for n in range(count // 2)]
    args = [f"a{n}" for n in range(count - len(keys))]
    script = "return {#KEYS, #ARGV, KEYS[1], KEYS[#KEYS], ARGV[1], ARGV[#ARGV]}"
    pair.check("EVAL", script, len(keys), *keys, *args)
    pair.check("FUNCTION", "LOAD", "REPLACE", "#!lua name=sizes\nredis.register_function("
               "'sizes', function(keys, argv) return {#keys, #argv, keys[1], argv[#argv]} end)")
    pair.check("FCALL", "sizes", len(keys), *keys, *args)


def test_evalsha_and_script_cache(pair):
    sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"  # return 1
    run(pair,
        ("SCRIPT", "FLUSH"), ("EVALSHA", sha, "0"), ("SCRIPT", "EXISTS", sha, "nope"),
        ("SCRIPT", "LOAD", "return 1"), ("EVALSHA", sha, "0"), ("EVALSHA", sha.upper(), "0"),
        ("SCRIPT", "EXISTS", sha, sha.upper(), "nope"), ("EVALSHA", "short", "0"),
        ("EVALSHA", sha, "x"), ("EVALSHA_RO", sha, "0"),
        ("SCRIPT", "LOAD", "syntax error"), ("SCRIPT", "LOAD"),
        ("EVAL", "return 2", "0"), ("SCRIPT", "EXISTS", "7f923f79fe76194c868d7e1d0820de36700eb649"),
        ("SCRIPT", "FLUSH", "ASYNC"), ("SCRIPT", "EXISTS", sha), ("SCRIPT", "FLUSH", "SYNC"),
        ("SCRIPT", "FLUSH", "BAD"), ("SCRIPT", "KILL"), ("SCRIPT", "HELP"), ("SCRIPT", "NOPE"),
        ("SCRIPT", "DEBUG", "NO"), ("SCRIPT", "DEBUG", "MAYBE"))


def test_read_only_scripts(pair):
    run(pair,
        ("EVAL_RO", "return redis.call('GET', 'k')", "1", "k"),
        ("EVAL_RO", "return redis.call('SET', 'k', 'v')", "1", "k"),
        ("EVAL_RO", "#!lua\nreturn redis.call('GET', 'k')", "0"),
        ("EVAL_RO", "#!lua flags=no-writes\nreturn redis.call('GET', 'k')", "0"),
        ("EVAL_RO", "return redis.pcall('DEL', 'k')", "0"), ("GET", "k"))


def test_script_writes_and_databases(pair):
    run(pair,
        ("EVAL", "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])",
         "1", "k", "v"),
        ("GET", "k"), ("SELECT", "2"),
        ("EVAL", "redis.call('SET', 'in2', 'x') redis.call('SELECT', 3) "
                 "redis.call('SET', 'in3', 'y') return 1", "0"),
        ("GET", "in2"), ("GET", "in3"), ("SELECT", "3"), ("GET", "in3"), ("SELECT", "0"),
        ("MULTI",), ("EVAL", "return redis.call('INCR', 'c')", "0"), ("INCR", "c"),
        ("EVAL", "return redis.call('INCR', 'c')", "0"), ("EXEC",), ("GET", "c"))


LIBRARY = ("#!lua name=mylib\n"
           "redis.register_function('echo', function(keys, args) return args[1] end)\n"
           "redis.register_function{function_name='setget', callback=function(keys, args)\n"
           "  redis.call('SET', keys[1], args[1]) return redis.call('GET', keys[1]) end}\n"
           "redis.register_function{function_name='ro', callback=function(keys, args)\n"
           "  return redis.call('GET', keys[1]) end, flags={'no-writes'},\n"
           "  description='reads'}\n"
           "redis.register_function('fails', function() error('inside') end)\n"
           "redis.register_function('writes', function() return redis.call('SET', 'w', 1) end)\n")


def test_functions(pair):
    run(pair,
        ("FUNCTION", "FLUSH"), ("FCALL", "echo", "0", "x"),
        ("FUNCTION", "LOAD", LIBRARY), ("FUNCTION", "LOAD", LIBRARY),
        ("FCALL", "echo", "0", "hello"), ("FCALL", "setget", "1", "fk", "fv"), ("GET", "fk"),
        ("FCALL", "ro", "1", "fk"), ("FCALL_RO", "ro", "1", "fk"),
        ("FCALL_RO", "setget", "1", "fk", "v"), ("FCALL_RO", "writes", "0"),
        ("FCALL", "fails", "0"), ("FCALL", "echo", "x"), ("FCALL", "echo", "-1"),
        ("FCALL", "echo", "5"), ("FCALL", "nosuch", "0"),
        ("FUNCTION", "STATS"), ("FUNCTION", "LOAD", "REPLACE", LIBRARY))
    pair.check("FUNCTION", "LIST", "WITHCODE", allow=FUNCTION_ORDER)
    run(pair,
        ("FUNCTION", "DELETE", "mylib"), ("FUNCTION", "DELETE", "mylib"),
        ("FCALL", "echo", "0", "x"), ("FUNCTION", "KILL"), ("FUNCTION", "HELP"),
        ("FUNCTION", "FLUSH", "BAD"), ("FUNCTION", "STATS"))


SMALL_LIBRARY = ("#!lua name=small\n"
                 "redis.register_function{function_name='only', description='the one',\n"
                 "  callback=function() return 1 end, flags={'allow-stale', 'no-writes'}}\n")


def test_function_list(pair):
    """One function per library: Redis lists functions in hash-table order."""
    run(pair,
        ("FUNCTION", "FLUSH"), ("FUNCTION", "LIST"), ("FUNCTION", "LOAD", SMALL_LIBRARY),
        ("FUNCTION", "LIST"), ("FUNCTION", "LIST", "WITHCODE"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "sm*"), ("FUNCTION", "LIST", "LIBRARYNAME", "x*"),
        ("FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "SMALL"),
        ("FUNCTION", "LIST", "LIBRARYNAME"), ("FUNCTION", "LIST", "BAD"),
        ("FUNCTION", "LIST", "WITHCODE", "WITHCODE"), ("FUNCTION", "STATS"),
        ("FCALL", "only", "0"), ("FCALL_RO", "only", "0"))


LOAD_ERRORS = [
    "return 1", "#!lua\nreturn 1", "#!lua name=x name=y\n", "#!lua name=bad-name\n",
    "#!nolua name=x\nreturn 1", "#!lua name=x foo=bar\n", "#!lua name=x",
    "#!lua name=empty\nlocal a = 1",
    "#!lua name=x\nsyntax error",
    "#!lua name=x\nerror('at load')",
    "#!lua name=x\nredis.call('PING')",
    "#!lua name=x\nreturn string.len('a')",
    "#!lua name=x\nredis.register_function('f')",
    "#!lua name=x\nredis.register_function(1, 2)",
    "#!lua name=x\nredis.register_function('f', 2)",
    "#!lua name=x\nredis.register_function('bad name', function() end)",
    "#!lua name=x\nredis.register_function('f', function() end)\n"
    "redis.register_function('f', function() end)",
    "#!lua name=x\nredis.register_function{callback=function() end}",
    "#!lua name=x\nredis.register_function{function_name='f'}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, "
    "flags={'bogus'}}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, "
    "other=1}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, "
    "flags='no-writes'}",
    "#!lua name=x\nglobal_var = 1",
    "#!lua name=x\nwhile true do end",
]


@pytest.mark.parametrize("code", LOAD_ERRORS)
def test_function_load_errors(pair, code):
    pair.check("FUNCTION", "FLUSH")
    pair.check("FUNCTION", "LOAD", code)


def test_function_dump_restore(pair2):
    """DUMP gives Redis's bytes (storage.rdb's LZF), and both restore it alike."""
    pair = pair2
    run(pair, ("FUNCTION", "FLUSH"), ("FUNCTION", "LOAD", LIBRARY), ("FUNCTION", "DUMP"))
    _, dumped = pair.both("FUNCTION", "DUMP")
    payload = dumped[dumped.index(b"\r\n") + 2:-2]
    run(pair,
        ("FUNCTION", "RESTORE", payload), ("FUNCTION", "RESTORE", payload, "BAD"),
        ("FUNCTION", "RESTORE", payload, "REPLACE"), ("FCALL", "echo", "0", "restored"),
        ("FUNCTION", "FLUSH"), ("FUNCTION", "RESTORE", payload, "APPEND"),
        ("FCALL", "echo", "0", "again"), ("FUNCTION", "RESTORE", payload, "FLUSH"),
        ("FUNCTION", "STATS"), ("FUNCTION", "RESTORE", b"garbage"),
        ("FUNCTION", "RESTORE", payload[:-1] + b"\x00"))


def test_redis_payload_restores_in_caskd(pair2):
    """Redis's own DUMP (LZF-compressed code) loads into caskd."""
    pair = pair2
    run(pair, ("FUNCTION", "FLUSH"), ("FUNCTION", "LOAD", LIBRARY))
    pair.redis.send(("FUNCTION", "DUMP"))
    raw = pair.redis.reply()
    payload = raw[raw.index(b"\r\n") + 2:-2]
    run(pair, ("FUNCTION", "FLUSH"), ("FUNCTION", "RESTORE", payload),
        ("FCALL", "echo", "0", "from redis"), ("FUNCTION", "STATS"))
