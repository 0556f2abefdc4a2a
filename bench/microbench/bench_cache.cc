// Microbenchmarks of the verification cache (cache/verify_cache.c):
// lookup hit, lookup miss and insert, on one and two threads.
//
// Credentials are 900 random base64url bytes, about the size of a
// JWT-SVID. Each benchmark thread is a registered liburcu QSBR reader and
// passes a quiescent state every kQuiescentEvery operations, as a worker
// does once per event-loop turn.
//
// Build and run:
//   cmake --preset release -DSVIDGATE_BENCH=ON && cmake --build build -j2
//   build/bench_cache
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

#include <urcu-qsbr.h>

extern "C" {
#include "cache/verify_cache.h"
}

namespace {

constexpr size_t kCredentialLen = 900;
// The lookup cache is filled with twice as many credentials as it holds,
// so almost every bucket is full, as in a busy server. Hits then scan
// about half a bucket and misses a whole one. The credentials it kept are
// the "present" set. The "absent" set was never inserted.
constexpr size_t kLookupCacheEntries = 4096;
constexpr size_t kLookupCandidates = 2 * kLookupCacheEntries;
// The insert cache is four times smaller than its credential pool, so
// inserts run in the steady state of replacing and evicting entries.
constexpr size_t kInsertCredentials = 16384;
constexpr size_t kInsertCacheEntries = 4096;
constexpr int kQuiescentEvery = 64;
constexpr uint64_t kGeneration = 1;
constexpr int64_t kNow = 1000;
constexpr int64_t kValidUntil = 1000000;

struct Fixture {
    std::vector<std::vector<uint8_t>> present;
    std::vector<std::vector<uint8_t>> absent;
    std::vector<std::vector<uint8_t>> insert_pool;
    struct sg_cache *lookup_cache = nullptr;
    struct sg_cache *insert_cache = nullptr;
};

Fixture fixture;

std::vector<uint8_t> RandomCredential(uint64_t *state)
{
    static const char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::vector<uint8_t> bytes(kCredentialLen);

    for (auto &b : bytes) {
        // xorshift64
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        b = static_cast<uint8_t>(kAlphabet[*state % 64]);
    }
    return bytes;
}

struct sg_slice SliceOf(const std::vector<uint8_t> &bytes)
{
    return sg_slice_make(bytes.data(), bytes.size());
}

// Registers the calling benchmark thread with RCU for one run.
class RcuThread {
public:
    RcuThread() { rcu_register_thread(); }
    ~RcuThread() { rcu_unregister_thread(); }
    RcuThread(const RcuThread &) = delete;
    RcuThread &operator=(const RcuThread &) = delete;
};

void BM_LookupHit(benchmark::State &state)
{
    RcuThread rcu;
    struct sg_cache_stats stats = {};
    size_t i = static_cast<size_t>(state.thread_index()) * 997;
    int until_quiescent = kQuiescentEvery;

    for (auto _ : state) {
        const auto &credential = fixture.present[i++ % fixture.present.size()];
        benchmark::DoNotOptimize(sg_cache_lookup(fixture.lookup_cache, SliceOf(credential),
                                                 kGeneration, kNow, &stats));
        if (--until_quiescent == 0) {
            rcu_quiescent_state();
            until_quiescent = kQuiescentEvery;
        }
    }
    if (stats.misses != 0)
        state.SkipWithError("a credential of the lookup cache missed");
}

void BM_LookupMiss(benchmark::State &state)
{
    RcuThread rcu;
    struct sg_cache_stats stats = {};
    size_t i = static_cast<size_t>(state.thread_index()) * 997;
    int until_quiescent = kQuiescentEvery;

    for (auto _ : state) {
        const auto &credential = fixture.absent[i++ % fixture.absent.size()];
        benchmark::DoNotOptimize(sg_cache_lookup(fixture.lookup_cache, SliceOf(credential),
                                                 kGeneration, kNow, &stats));
        if (--until_quiescent == 0) {
            rcu_quiescent_state();
            until_quiescent = kQuiescentEvery;
        }
    }
    if (stats.hits != 0)
        state.SkipWithError("an absent credential hit");
}

void BM_Insert(benchmark::State &state)
{
    RcuThread rcu;
    struct sg_cache_stats stats = {};
    size_t i = static_cast<size_t>(state.thread_index()) * 7919;
    int until_quiescent = kQuiescentEvery;
    const uint8_t value[64] = {};

    for (auto _ : state) {
        const auto &credential = fixture.insert_pool[i++ % kInsertCredentials];
        if (!sg_cache_insert(fixture.insert_cache, SliceOf(credential), kGeneration, kValidUntil,
                             SG_OK, sg_slice_make(value, sizeof(value)), &stats))
            state.SkipWithError("sg_cache_insert failed");
        if (--until_quiescent == 0) {
            rcu_quiescent_state();
            until_quiescent = kQuiescentEvery;
        }
    }
    const auto per_iteration = benchmark::Counter::kAvgIterations;
    state.counters["evictions"] =
        benchmark::Counter(static_cast<double>(stats.evictions), per_iteration);
    state.counters["dropped"] =
        benchmark::Counter(static_cast<double>(state.iterations() - stats.inserts), per_iteration);
}

BENCHMARK(BM_LookupHit)->Threads(1)->Threads(2);
BENCHMARK(BM_LookupMiss)->Threads(1)->Threads(2);
BENCHMARK(BM_Insert)->Threads(1)->Threads(2);

bool SetUp()
{
    uint64_t random_state = 0x9e3779b97f4a7c15u;
    std::vector<std::vector<uint8_t>> candidates;

    for (size_t i = 0; i < kLookupCandidates; i++)
        candidates.push_back(RandomCredential(&random_state));
    for (size_t i = 0; i < kLookupCacheEntries; i++)
        fixture.absent.push_back(RandomCredential(&random_state));
    for (size_t i = 0; i < kInsertCredentials; i++)
        fixture.insert_pool.push_back(RandomCredential(&random_state));

    fixture.lookup_cache = sg_cache_new(kLookupCacheEntries);
    fixture.insert_cache = sg_cache_new(kInsertCacheEntries);
    if (!fixture.lookup_cache || !fixture.insert_cache)
        return false;

    // The main thread is registered only while it fills the cache, since
    // Google Benchmark runs thread 0 of every benchmark on it.
    struct sg_cache_stats stats = {};
    const uint8_t value[64] = {};
    rcu_register_thread();
    for (const auto &credential : candidates)
        sg_cache_insert(fixture.lookup_cache, SliceOf(credential), kGeneration, kValidUntil, SG_OK,
                        sg_slice_make(value, sizeof(value)), &stats);
    for (auto &credential : candidates) {
        if (sg_cache_lookup(fixture.lookup_cache, SliceOf(credential), kGeneration, kNow, &stats))
            fixture.present.push_back(std::move(credential));
    }
    rcu_unregister_thread();
    std::fprintf(stderr, "bench_cache: the lookup cache filled %zu of %zu slots\n",
                 fixture.present.size(), sg_cache_capacity(fixture.lookup_cache));
    return !fixture.present.empty();
}

}  // namespace

int main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    if (!SetUp()) {
        std::fprintf(stderr, "bench_cache: creating the caches failed\n");
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    sg_cache_free(fixture.lookup_cache);
    sg_cache_free(fixture.insert_cache);
    return 0;
}
