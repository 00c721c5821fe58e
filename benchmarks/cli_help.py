"""How long `biofeedback --help` and a 15-minute simulated session take, whole
process, beside bare `python -c pass` of the same virtual environment (the peer,
measured in the same run), and both as they were at ``--base`` (the package and the
simulators at that commit, extracted with `git archive` and run from their own
folder), with whether both trees print the same events for the same seed and the
same help.

Goals (issue 28): --help <= 5x `python -c pass`; `run --sim --headless --json
--speed max --duration 900` <= 0.3 s. Wall time is what a user waits; CPU time
(user + system) is the steadier figure on a shared machine; the instructions
(``--instructions``: valgrind's callgrind, one run a tree, ~30 s each) the steadiest,
the same under any load, so a change of a few percent shows.

    python benchmarks/cli_help.py [--runs N] [--base REV] [--store-mb MB]
                                  [--instructions] [--quick]

Time it with the python of a normal install (`pip install .` into a new virtual
environment, as the Quick start does): an editable install's finder (the test
environment's) adds ~10 ms to every start, `python -c pass`'s too, and so halves
the ratios. ``--store-mb 7.5`` times each session against a copy of a store of that
many MB of past sessions (a person's store after weeks; every open checks all its
pages).

Figures, third round (2026-12-07, before = 4fed2a8; a normal install; medians of
15 (load 1.2) and 11 (load 1.8, ~5) interleaved runs, 2 cores shared with other
sessions):

                         load 1.2             load 1.8             load ~5
    python -c pass       CPU 9.6 ms           9.9 ms               10.6 ms
    --help CPU           38.8 -> 26.1 ms      40.4 -> 27.6 ms      ~42 -> ~29 ms
                         = 4.1x -> 2.7x python -c pass (goal <= 5x: met)
    900 s session CPU    327 -> 303 ms        349 -> 330 ms        367 -> 344 ms
                         (0.93x)              (0.95x)              (0.94x)
                         p90 337 -> 320       p90 355 -> 339       p90 377 -> 350
    900 s session wall   334 -> 310 ms        355 -> 340 ms        504 -> 473 ms
    instructions         2,046 M -> 1,822 M (0.891x); 2,045 -> 1,824 M in another run
    printed events       identical (809 lines; seeds 1, 2, 3, 7 and the default
                         compared too, and the 3 h and 24 h replays of
                         benchmarks/replay.py); --help identical (and every command's)

What this round changed at the start of a session (the estimators, the controller
and the loop are other branches'):

    the simulated heart's natural rate  ~15 -> ~3 ms: the candidate-independent
      (simulators/baroreflex.py)        parts of the swing worked out once, and the
                                        search stops at the first candidate that
                                        cannot be bettered (the same rate to the
                                        bit: tests/test_baroreflex_search.py)
    garbage collection at start-up      ~90 collections, ~11 ms -> none: the program
      (cli/__init__.py, common.py,      collects from when the session (or a form,
      running.py)                       or any other command) begins, with what
                                        start-up made frozen
    the assessment reader, uuid         loaded only when used (~2 ms)
    --help                              no dataclasses (inspect, ast, dis), no
                                        pathlib (urllib, ipaddress): ~13 ms

Where the session's CPU goes now (instructions, callgrind, of 1,822 M):

    interpreter start                   38 M (2 %)
    imports                             ~1,030 M (56 %): numpy ~340 M, asyncio
                                        ~200 M (ssl ~70 M of it: asyncio loads it
                                        for TLS, which a session never uses), the
                                        stdlib the package uses, and creating the
                                        92 dataclasses on this path: ~55 ms of CPU
                                        (~0.6 ms each; the models' 28 ~17 ms at load 5,
                                        simulators.scenario's Person, SessionRequest
                                        and the estimators' next), all but a few
                                        used by a headless simulated run
    set-up (parser, build_session)      ~15 ms: the parser ~3, the simulated heart
                                        ~4, the three routines read ~2 (the day
                                        protocol of benchmarks/replay.py is parsed
                                        once, not three times: the three reads are
                                        the routine, breath-partial and
                                        passive-rest), the store ~3
    the session                         the rest (~40 %): other branches' figures
    interpreter exit                    ~13 M (objects frozen for the exit)

Measured and left: a dataclass's generated methods are most of its cost (a frozen
class of 15 fields: __init__ 250 us, __eq__ 95, __repr__ 95, __setattr__ 85,
__delattr__ 75, __hash__ 60 of ~800): leaving __repr__, __eq__ and __hash__ to one
generic copy would save ~30 % (~5 ms for the models) but makes every class less
plain and each comparison slower; slots=False saves ~5 % and changes the
instances; building only the named command's options saves ~0.8 ms of the
parser's 3. Goal 0.3 s: not quite met by this round's start-up work alone (327 ->
303 ms CPU at load 1.2; -11 % instructions); the estimators' and the loop's cuts on
other branches take it below.

Fourth round, start-up and set-up (2026-12-07, before = e7e9a93, test environment,
load 1.6-2.3, medians of 9 interleaved runs): the built-in protocols and scenarios
read from the folder beside their module, not through importlib.resources (which
loaded importlib.resources, importlib.readers and zipfile): CPU 297 -> 293 ms, wall
301 -> 297 ms (within the noise at load 2: 329 -> 329 ms in another run);
instructions 1,693 M -> 1,680 M (0.992x); reading `full` and `calm` from a cold
start (imports included) 14.7 -> 8.0 ms. What is left of start-up in the
package's own modules is mostly creating its ~90 dataclasses (~50 ms, compile of
their generated methods) and loading ~260 modules' code; the set-up after imports
(build_session) is ~5 ms; exiting ~5 ms.

Fifth round, the whole 900 s session (2026-12-07, before = f7a5092; this branch was
cut from f7a5092 + the controller's and the resonance reading's branches; a normal
install; loads 2.3-5.3 on 2 cores shared by 8 sessions):

    instructions (callgrind)            1,607 M -> 1,569 M (0.976x): the two merged
                                        branches 1,607 -> 1,598 M, this one -> 1,569 M:
                                        asyncio loaded without ssl -21.5 M (asyncio
                                        imports it for TLS a session never opens
                                        through asyncio; the broker's TLS is paho's,
                                        which imports ssl itself; NOT merged: it took
                                        asyncio's own TLS from every session process
                                        for 1.4 %, so ~1,591 M as merged), SessionRequest
                                        without eq/hash/repr and the simulated Person
                                        without eq/hash -8.1 M (nothing compares,
                                        hashes or prints either), a run's ratings and
                                        ending state without eq/repr ~-2 M
    CPU, 15 interleaved runs, load 3-5  363 -> 358 ms (p90 389 -> 400); wall 416 -> 409
    CPU, 21 interleaved runs, load 2-4  379 -> 377 ms (p90 390 -> 388); wall 489 -> 488
                                        (a 2.4 % cut is inside the time's noise at
                                        these loads: the instructions show it)
    printed events                      identical (809 lines; seeds 1, 2, 3 (837
                                        lines), 7 and the default); --help identical
                                        (and run's, resonance's, setup's, today's)

Where the session's 1,569 M instructions go now:

    interpreter start                   38 M (2 %)
    the stdlib and numpy it loads       ~540 M (34 %): numpy ~340 M, asyncio
                                        ~90 M more (ssl ~22 M of it), sqlite3, json,
                                        tomllib, logging, platformdirs 22 M (the config's and the
                                        store's folders), statistics 9 M (its
                                        median in signals/baseline.py and
                                        store/practice.py; it loads fractions and
                                        decimal)
    the package's and the simulator's   ~455 M (29 %); ~345 M of it is creating the
      modules                           ~90 dataclasses (Python 3.11 parses 250 M and
                                        compiles 98 M of their generated methods, each
                                        method from its own source): ~3.5 M a small
                                        frozen class, ~0.45 M more a field; the
                                        models' 28 classes and 6 enums 136 M (8.7 %)
    set-up, the session and exit        ~535 M (34 %): numpy's rfft 65 M and its
                                        twiddles 16 M (numpy 2.4 makes the plan
                                        afresh at every call), the simulated heart
                                        and strap ~11 ms of CPU at load 5 (~6 us a
                                        beat, ~5.5 us a notification), exit 12 M

Measured and left: the ~25 dataclasses on this path with no docstring of their own
(loop, pacing, signals) have dataclasses build one with inspect.signature (~0.4 M
each); three NamedTuples compile each field's annotation (~4 M); numpy.typing is
loaded at run time for annotations (signals, simulators.breathing, ~2-3 M); the
setup, today and plan requests (~13 M) are defined on the run path because their
commands share modules with it; the models keep eq and repr (the tests compare
events and print them when they differ).

Earlier rounds: first (before = 341feb4, load 6-8) 496 -> 417 ms CPU; second
(before = 1ee3cee, load 3-4) 420 -> 408 ms and 382 -> 370 ms; the recorder's one
store open and its writes on the loop's thread at --speed max (~40 -> ~7 ms).

Sixth round, making the dataclasses (2026-12-07, before = 3bd8ea8; a normal install;
interleaved, loads 1.4-2.4 on 2 shared cores): every dataclass that compares is a
``record`` (biofeedback/models/record.py: __eq__, __hash__ and __repr__ shared, not
compiled per class) and every one has a docstring. CPU 266 -> 253 ms (15 runs; p90
276 -> 264), 251 -> 238 (11 runs), 260 -> 250 (9 runs, records without the
docstrings); instructions 1,533 M -> 1,400 M (0.913x; 1,406 M without the
docstrings); the ~91 classes of the path made in ~49 -> ~33 ms (timed in-process).
Printed events identical (seeds 1, 2, 3, 7 and the default; the 3 h replay's 14,000
lines too); --help identical, and no command loads another module than
biofeedback.models.record. No ==, hash or repr of a dataclass is called in a 900 s
session, a 3 h replay or a minute of the dashboard, before or after (counted with a
profile hook), so the shared methods' cost a call (benchmarks/records.py) is paid
nowhere hot. Left: what dataclass compiles for every class, __init__ and, frozen,
__setattr__ and __delattr__: ~33 ms of the path, ~15 ms of it the frozen guard
(timed with every class made not frozen, in-process only).

Sixth round, the simulated source and the set-up (2026-12-07, before = 3bd8ea8, a
normal install, load 1.4-2.1): CPU 269 -> 263 ms (21 interleaved runs; p90 273 ->
272) and 271 -> 264 ms (15 runs); instructions 1,533 M -> 1,494 M (0.975x; 1,536 ->
1,496 M in another run); printed events identical (the default seed and seeds 1, 2,
3 and 7). In the run (process_time around each part, medians of 9 interleaved cold
runs): SimulatedSource.__init__ 9.7 -> 6.9 ms (the built-in people's natural rates
looked up, not searched for: ~2.5 ms; numpy.random's import, ~6-9 ms of it with
secrets, hashlib and OpenSSL, stays), its items 11.2 -> 8.5 ms and the events it
hears 1.30 -> 1.17 ms (less Python per beat, the same beats to the bit). Left: a
fresh store's schema (~2 ms, and four fdatasyncs switching to WAL), the whole-store
quick_check at every open (~0.4 ms a 900 s session kept in it), the three routine
files parsed (~2.3 ms cold).

Sixth round, the session loop of the 900 s session (s30tick, before = 3bd8ea8,
2026-12-07, a normal install, load 1.3-1.5): the breath reading from the beats
works out each peak bin's near bins the first time a reading peaks there (26 of
the band's 231 bins in this session; all 231 were ~0.7 ms of its first reading),
and the resonance reading writes its transform into the tracker's own array (~3 us
of 113 readings). run_session alone, in-process CPU of the first run in a fresh
process, 15 interleaved runs: 72.0 -> 70.4 ms (p90 73.6 -> 72.5); the whole
command, 11 runs: CPU 264 -> 264 ms (p90 270 -> 278: the cut is inside the
noise), instructions 1,532 M -> 1,525 M (0.995x); printed events identical
(seeds 1, 2, 3, 7, the default) and the 3 h replay's 14,000 lines. Where the
loop's ~65 ms (625 ticks) go, by timers around each part: the resonance reading
~11 ms (113 readings; the 8192-point transform ~40 us of each ~95), the arousal
estimator ~10 ms (estimate and add_sample), the breath estimate ~6 ms (125
readings from the beats, ~38 us each with a 2048-point transform), the pacing
controller ~6.5 ms, the simulated heart and strap ~12 ms, the recorder's one
write ~5 ms and the store's close (its checkpoint) ~1.5-2 ms, the console ~3.5 ms
(an estimate's line ~3 us), the loop's own steps and the fan-out ~5 ms. The first
run pays ~6 ms more than the next ones in the same process: numpy.fft's import at
the first transform (~0.8 ms), each transform size's first plan (~0.1 ms for
8192), a plan per window size and the bins near each peak met (~0.5 ms), the
store's first close, and the interpreter warming up every path.

Sixth round, what a session imports and does not use (2026-12-07, before = 3bd8ea8; a
plain install's python; loads 0.7-2.1): the progress fold (loop/progress.py, ~1.3 ms)
loads with the first progress-aware sink (the dashboard's, the sound's, the broker's);
the baseline's and the outcomes' medians come from signals/list_median.py
(statistics.median to the bit) instead of statistics, which loads fractions and
decimal (~1.9 ms); the batch path's beat windows (signals/hrv.py, ~0.7 ms) are
imported by the live estimator for an annotation only; the session writer loads with
the session that writes, not with every open (review, history, today: -0.4 to -1.2 M
instructions). Instructions 1,536 M -> 1,509 M (0.982x; the same tree extracted
beside: 1,509 and 1,513 M); CPU 277 -> 278 ms (n=15, load 0.7), 268 -> 268 ms
(n=21, load 2.0, before the hrv change); both trees extracted to /tmp, n=41, load
0.9: 283 -> 277 ms (p90 293 -> 291): a 1.8 % cut is about the time's noise here.
Printed events identical (seeds 1, 2, 3, 7 and the default; the 3 h replay); --help's
modules and output identical; the dashboard loads one module less (hrv out,
list_median in: it loads statistics for textual's sparkline anyway).

Second wave, the parser and stray imports (s31parse, 2026-12-07, before = integ30 7c56bb3;
a normal install; load 1.3-1.5): the parser builds only what the command line can reach
(the named command's options; naming none, each command's name and help line; see
COMMANDS in cli/parser.py), and a headless run no longer loads numpy.typing (annotations
only), the assessment's plan (pacing/resonance_plan.py; a session needs only its
routine's name, now in biofeedback.pacing) or cli/records.py. Instructions 1,330 M ->
1,308 M (0.983x; the parser alone 1,331 -> 1,315 M); CPU 223 -> 220 ms (21 interleaved
runs; p90 230 -> 227), 236 -> 233 ms (15 runs); --help CPU 25.2 -> 23.1 ms (2.7x -> 2.4x
python -c pass), 128 M -> 116 M instructions. A run's command line built and parsed in a
fresh process: 6.1 -> 4.0 ms (~2.5 ms of the 4 is argparse's first imports, shutil and
locale, which platformdirs and asyncio load anyway). Printed events identical (seeds 1,
2, 3, 7, the default, an assessment, a --resonant run, a run at an assessed rate, the
24 h replay); the help (every command's, -h and --help), usage errors and exit codes of
107 command lines identical. Left: TodayRequest, PlanRequest (cli/practice.py) and
SetupRequest (cli/setup.py) are made on the run path (~1.1 ms), which uses other parts of
their modules; so are signals/resonance.py's four assessment classes (~1.4 ms, beside
the live reading's helpers), signals.arousal's Measures and the models' Recording.

Second wave, the frozen guard shared (s31frozen, models/record.py; before = integ30,
2026-12-07, a plain install's python): dataclass makes a frozen record mutable (it
compiles only a plain __init__) and the record gets dataclass's guard,
__setattr__/__delattr__, as shared code; its __init__ runs on the object made an
unfrozen twin, then the class again (73 frozen records on this path). CPU 212 -> 202
ms (n=15, load 1.0; p90 218 -> 206), 225 -> 217 ms (n=15, load 1.9; p90 240 -> 220),
269 -> 247 ms (n=9, load 1.7); instructions 1,331 M -> 1,218 M (0.915x, twice).
Printed events identical (seeds 1, 2, 3, 7 and the default); --help identical; the
3 h replay's 14,000 lines (instructions 8,082 M -> 7,958 M) and the 24 h replay's
111,995 identical (24 h CPU 6.84 -> 6.62 s, n=3); every dataclass's signature,
fields and __match_args__ the same. Left: dataclass still compiles each class's
__init__ (~0.1-0.2 ms a class).

Sixth round, merged (the six branches above; before = 3bd8ea8, after = e1b771e; a
plain install's python, 15 interleaved runs, load 0.7, a quiet machine): 900 s
session CPU 242 -> 206 ms (0.85x; p90 264 -> 209), wall 245 -> 208 ms = 21.9x
python -c pass (9.5 ms; goal 0.3 s, which is 20x at the issue's 15 ms python start);
instructions 1,536 M -> 1,197 M (0.780x); --help 24.6 -> 22.9 ms CPU (2.5x). Printed
events identical, --help identical. Where the ~205 ms of wall go now (py-spy at
1000 Hz over 8 runs; `python -c "import numpy"` timed alone): python's start ~10 ms;
numpy's import ~60 ms (its own modules, .pyc reads and OpenBLAS: a floor for any
session, which needs its transforms); asyncio with ssl and logging ~15 ms; the rest
of the stdlib a run needs (argparse, json, sqlite3, tomllib, platformdirs,
dataclasses and inspect, typing) ~20 ms; the package's and the simulator's modules
~35 ms, ~17 of it dataclass compiling each class's __init__; set-up ~6 ms; the
session loop ~50 ms (the resonance reading ~11, the arousal estimator ~10, the
simulated heart ~8, the breath reading ~6, the controller ~6.5, the recorder and
console ~8); ending the interpreter ~5 ms (os._exit after the last flush would save
it: not done, it skips every atexit handler).

Seventh round, s35init (models/record.py: each record's __init__ as dataclass compiles
it, kept between runs in a file, in __pycache__ here, in the user cache folder as
merged; before = main 02481e4; plain-install venvs, a new store each run, 3 x 31
interleaved runs, load 1.4-1.6):
900 s session wall 197.5 -> 191.4, 191.8 -> 184.5, 192.6 -> 186.2 ms (p90 209.8 ->
203.4, 197.9 -> 192.9, 201.7 -> 194.3), CPU 193.0 -> 188.2, 189.7 -> 181.3, 189.4 ->
183.8 ms; python -c pass 9.2-9.3 ms, so 20.7-21.2x -> 20.0-20.6x. The first run (no
file yet: it compiles as before and writes the file at exit, ~0.7 ms) 198.9, 195.7,
193.6 ms wall (CPU 194.8, 192.8, 190.9). Instructions 1,198 M -> 1,137 M (0.949x; seed
3: 1,210 M -> 1,151 M), the first run 1,211 M. This script (--runs 15, load 1.5): wall
194 -> 189 ms, CPU 189 -> 185 ms. Printed events identical (the default seed, 1, 2, 3,
7), --help identical, the 24 h replay's 111,995 lines identical. Left: ~10 M of the
instructions (under 1 ms of wall: not seen in 31 runs) are dataclass's code looking its
globals up afresh after record puts ``exec`` in its namespace and takes it out again.
Note: a store reused run after run grows by a session a run and slows each (one --db
over ~150 runs: 205 -> 240 ms); the figures above use a new store each run.

Seventh round, the session loop (s35loop, before = 02481e4, 2026-12-07, a plain
install's python, load 0.9-1.3): the simulated heart hears only the events it acts
on when no listener is set (an estimate a second went through ``Heart.hear`` for
nothing) and its samples are built by ``models.slots.builder``; (the resonance
tracker's cleaner led by the arousal estimator's, -3.6 M, was not merged: see
benchmarks/resonance_live.py); the recorder on the loop's thread inserts a
statement a row, not 99 (SQLite parsed each new 99-row statement, ~0.25 ms).
Instructions (callgrind) 1,198.0 M (1,197.96 and 1,198.40 in two runs) -> 1,188.7
-> 1,185.1 -> 1,181.8 M (0.986x). The 900 s session, each run on a new store (a
shell script removing it first adds ~1.7 ms to both), 61 interleaved runs: wall
207.3 -> 203.0 ms (p90 216.0 -> 212.9; range 194.0-227.0 -> 190.6-222.7), CPU 202.3
-> 199.3 ms (p90 210.8 -> 207.2); python -c pass 9.4 ms wall (8.3 in a quieter
batch), so ~21.8x -> ~21.4x without the script's 1.7 ms. Batches of 21 runs gave
202.1 -> 198.1 and 206.2 -> 206.5 ms: a 1.5 % cut is inside the noise of 21 runs at
load ~1.1. The loop alone (``_run_virtual``, process time in the run, 11 interleaved
runs) 50.6 -> 47.6 ms. Printed events and the store's rows identical (seeds 1, 2, 3, 7 and the
default; the 3 h replay's 14,000 lines and rows). Left, measured: numpy's
transforms are ~102 M instructions of the run (8.6 %): numpy 2.4 makes each
transform's plan afresh (~137 k instructions an 8192-point plan, 113 readings; ~38 k
a 2048-point one, 115) and zero-fills and copies its 64 kB buffer (~120 k), with no
public way to keep a plan; the readings' other numpy calls ~35 M (~200 k a
resonance reading, ~105 k a breath one); numpy.random's import for the simulated
strap ~6.4 ms (3 % of the wall; secrets, hmac and OpenSSL ~2 ms of it), which only a
pure-Python PCG64 and ziggurat could avoid; the recorder's one write at the end
~4.5 ms (625 estimates, 625 samples, 184 events) and the store's close ~1.7 ms;
the console ~3.4 ms for 809 lines; cli/running.py's three add_signal_handler calls
(not this branch's) ~0.3 ms: asyncio builds signal.valid_signals() at each, and
signal.signal's result reprs the handler it replaces (asyncio.Runner's) in a
failed enum lookup.

Seventh round, the set-up (s35setup, 2026-12-07, before = main 02481e4; a plain
install's python; load 0.4-1.5): the XDG config and data folders worked out from two
variables on Linux (biofeedback/user_folders.py as merged; platformdirs, which loads
tempfile, elsewhere);
the requests of setup, today and plan in cli/command_requests.py and RestingBaseline
in store/baseline.py (a simulated session no longer makes their classes); the
package's own TOML (the three routines, the scenario) read back as JSON from the
user cache folder (inputs.parse_shipped_toml: tomllib loads only to parse);
SessionRequest a record; the parser's help formatter told the terminal's width
(argparse no longer loads shutil, bz2 and lzma); read_text without the utf-8-sig
codec; the personal rate reads only the store's assessments; the gentler routine's
outcomes read each past session's final two minutes from its column block, not its
every estimate (a store of 22 sessions: adapt_routine 4.6 -> 2.9 ms); an existing
store opened and checked on a thread of its own while the session's modules load
(store.StoreOpening, where there is a second core; the check looks at the clock
every ~10 ms, not every ~0.1, each look taking the GIL). Instructions 1,198 M ->
1,155 M (0.964x; by piece -8 to -11, -3.8, -17.0, +0.9 (the thread), -3.1, -5.6,
-0.7, -2.2 (on a store of two sessions), -0.7 M). tm.py-style, 31 interleaved runs
on a quiet machine (load 0.4-0.9), each tree's store new and growing to 31
sessions: wall 203.8 -> 194.3 ms (21.9x -> 20.9x python -c pass, 9.3 ms), CPU 202.0
-> 192.5 ms; the same tree without the store's thread 194.6 / 191.2 ms. This
benchmark, 15 runs, new stores (load 0.7): wall 200 -> 196 ms (20.7x -> 20.3x), CPU
198 -> 198 ms (p90 210 -> 203); --help CPU 22.7 -> 20.2 ms (2.5x -> 2.2x), 116.1 M
-> 109.7 M instructions. --store-mb 7.5, 11 runs: wall 207 -> 191 ms (22.3x ->
20.6x; the store's ~8 ms check hidden on the second core), CPU 204 -> 201 ms. The
thread where there is no second core (in-process, pinned to one, a 3.75 MB store):
build_session 72.3 -> 73.8 ms, hence only with a second core (the process's CPU
affinity). Printed events identical (seeds 1, 2, 3, 7, the default; on stores of 7
and 22 past sessions too), the 24 h replay's 111,995 lines identical, every
command's help and errors identical under six $COLUMNS settings, piped and on ptys.
Left: Recording (models/records.py, exported by biofeedback.models) and PairedDevice
(config.py) are still made at each start, never built there (~0.15 ms each).

s36store (2026-12-07, before = integ35 06ce78b): the store's thread only reads (its
identity and whole-file check); the store is opened, migrated and made private on the
main thread once every other check has passed. The main thread's wait for its store
(a 900 s session, 21 interleaved runs each): 2 MB store 0.02 -> 0.71 ms (median; p90
0.02 -> 0.83), 7.5 MB 0.02 -> 0.71 ms (p90 0.78); opened in place without the thread
4.87 and 11.53 ms. tm.py-style, 21 interleaved runs, each on a fresh copy of the
store (load 0.8-1.4), two rounds: 2 MB wall 202.1 / 205.4 -> 202.4 / 205.2 ms (in
place 202.1 / 207.1), 7.5 MB 209.2 / 215.0 -> 211.6 / 214.5 ms (in place 217.0 /
222.8): the check is still hidden on the second core. Printed events identical (the
default seed and 3, on the 2 MB store).

Seventh round, merged (main 02481e4 -> the round's end; this script with the python of a
plain install, --runs 21 --base 02481e4, quiet machine, load 0.5-0.6; two runs):
python -c pass 9.55 / 9.6 ms wall; 900 s session wall 206 -> 187 ms and 205 -> 188 ms
(p90 210 -> 195, 212 -> 191; ranges 195-214 -> 179-196, 196-232 -> 180-197), 21.5x ->
19.6x and 21.4x -> 19.6x python -c pass (goal 0.3 s, 20x); CPU 203 -> 191 and 202 ->
190 ms, 22.2x -> 21.0x and 22.1x -> 20.8x its CPU (the store's check on its own
thread counts in the CPU, not in the wait); instructions 1,198 M -> 1,064 M (0.888x);
--help 2.5x -> 2.3x; printed events and --help identical. The 24 h replay
(benchmarks/replay.py --base 02481e4 --runs 3) 6.75 -> 6.77 s CPU, lines identical.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.figures import (  # noqa: E402
    child_env,
    load_line,
    parse_args,
    spread,
    timed,
    trees_beside,
)

# main when this round began: the "before" of the figures above.
BASE = "f7a5092"


def seeded_store(session: list[str], folder: Path, megabytes: float) -> Path:
    """A store of past sessions of at least ``megabytes`` MB, recorded by this tree (a
    person's store after weeks of practice: each open checks every page of it)."""
    db = folder / "seed.db"
    while not db.exists() or db.stat().st_size < megabytes * 1e6:
        subprocess.run(
            [*session, "--db", str(db)], check=True, capture_output=True, timeout=300, cwd=ROOT
        )
    return db


def printed_events(argv: list[str], tree: Path, db: Path) -> str:
    """What a session prints, with its fresh session id masked (the one thing that
    differs between two runs of the same seed)."""
    proc = subprocess.run(
        [*argv, "--db", str(db)], check=True, capture_output=True, timeout=300, cwd=tree
    )
    return re.sub(r'"session_id":"[0-9a-f]+"', '"session_id":"-"', proc.stdout.decode())


def instructions(argv: list[str], tree: Path, folder: Path) -> int | None:
    """Instructions one run of ``argv`` executes, counted by valgrind's callgrind
    (~80x slower than a run): unlike time, the same on a quiet machine and a loaded
    one, so a change of a few percent shows. None when valgrind is not installed."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    proc = subprocess.run(
        [valgrind, "--tool=callgrind", f"--callgrind-out-file={folder / 'callgrind.out'}", *argv],
        check=True,
        capture_output=True,
        timeout=900,
        cwd=tree,
        env=child_env(),
    )
    found = re.search(r"Collected : (\d+)", proc.stderr.decode(errors="replace"))
    return None if found is None else int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per figure (median)")
    parser.add_argument("--base", default=BASE, help="the commit timed as the before")
    parser.add_argument(
        "--store-mb",
        type=float,
        default=0.0,
        metavar="MB",
        help="time each session against a copy of a store this big (default: a new one)",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count each tree's session's instructions once (valgrind; ~30 s each)",
    )
    args = parse_args(__doc__, parser)
    runs = 1 if args.quick else args.runs
    # `python -m biofeedback` from each tree's folder (an old checkout's benchmark
    # times its own code).
    exe = [sys.executable, "-m", "biofeedback"]
    duration = "60" if args.quick else "900"
    session = [*exe, "run", "--sim", "--headless", "--json", "--no-ratings", "--speed", "max"]
    session += ["--duration", duration]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        trees = trees_beside(args.base, folder)
        # Decisions unchanged: each tree's events for the same seed, each with a
        # fresh store (a store's past sessions shape the routine).
        printed = {
            label: printed_events(session, tree, folder / f"same{n}.db")
            for n, (label, tree) in enumerate(trees.items())
        }
        helps = {
            subprocess.run(
                [*exe, "--help"], check=True, capture_output=True, timeout=60, cwd=tree
            ).stdout
            for tree in trees.values()
        }
        # A store of its own per tree: the person's store may be another version's
        # (and keeps no benchmark sessions).
        argv_of = {
            label: [*session, "--db", str(folder / f"timed{n}.db")] for n, label in enumerate(trees)
        }
        if args.store_mb > 0:
            seed = seeded_store(session, folder, 0.5 if args.quick else args.store_mb)
            for n in range(len(trees)):
                shutil.copyfile(seed, folder / f"timed{n}.db")
            print(f"each session's store: a copy of one of {seed.stat().st_size / 1e6:.1f} MB")
        python: tuple[list[float], list[float]] = ([], [])
        help_s: dict[str, tuple[list[float], list[float]]] = {t: ([], []) for t in trees}
        session_s: dict[str, tuple[list[float], list[float]]] = {t: ([], []) for t in trees}
        # Interleaved, so that each sees the same load.
        for n in range(runs):
            commands: list[tuple[tuple[list[float], list[float]], list[str], Path]] = [
                (python, [sys.executable, "-c", "pass"], ROOT),
            ]
            commands += [(help_s[t], [*exe, "--help"], tree) for t, tree in trees.items()]
            commands += [(session_s[t], argv_of[t], tree) for t, tree in trees.items()]
            for figures, argv, cwd in commands:
                wall, cpu = timed(argv, 1, warm=n == 0, cwd=cwd, timeout_s=120)
                figures[0].extend(wall)
                figures[1].extend(cpu)
        # Each on a new store of its own, after the timed runs (compiled modules).
        counted = {
            label: instructions([*session, "--db", str(folder / f"counted{n}.db")], tree, folder)
            for n, (label, tree) in enumerate(trees.items())
            if args.instructions
        }
    peer_wall, peer_cpu = statistics.median(python[0]), statistics.median(python[1])
    rows = [
        ("python -c pass (peer)", python, ""),
    ]
    rows += [(f"--help (-m), {t}", help_s[t], "goal <= 5x python -c pass") for t in trees]
    rows += [(f"{duration} s session, {t}", session_s[t], "goal 900 s <= 0.3 s") for t in trees]
    for label, (wall, cpu), goal in rows:
        print(f"{label:<34} wall {spread(wall, 1e3, 'ms')}")
        print(f"{'':<34} CPU  {spread(cpu, 1e3, 'ms')}")
        print(
            f"{'':<34} = {statistics.median(wall) / peer_wall:.1f}x python -c pass wall,"
            f" {statistics.median(cpu) / peer_cpu:.1f}x its CPU{'; ' + goal if goal else ''}"
        )
    if len(trees) == 2:
        before, after = (statistics.median(cpu) for _, cpu in session_s.values())
        lines = [p.count("\n") for p in printed.values()]
        same = len(set(printed.values())) == 1
        print(
            f"session CPU {before * 1e3:.0f} -> {after * 1e3:.0f} ms ({after / before:.2f}x);"
            f" printed events {'identical' if same else 'DIFFER'} ({lines[-1]} lines,"
            " session id masked)"
        )
        print(f"--help output {'identical' if len(helps) == 1 else 'DIFFERS'}")
    if counted:
        counts = {label: n for label, n in counted.items() if n is not None}
        if len(counts) < len(counted):
            print("instructions: not counted (needs valgrind)")
        else:
            shown = " -> ".join(f"{label} {n / 1e6:,.0f} M" for label, n in counts.items())
            first, last = next(iter(counts.values())), list(counts.values())[-1]
            ratio = f" ({last / first:.3f}x)" if len(counts) == 2 else ""
            print(f"{duration} s session instructions (callgrind): {shown}{ratio}")
    print(load_line())


if __name__ == "__main__":
    main()
