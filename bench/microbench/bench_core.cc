// Microbenchmarks of the core verification path: SPIFFE ID parsing, JWS
// parsing, a full JWT-SVID verification (a cache miss) for ES256 and
// RS256, and the same token answered from the verification cache (a hit:
// lookup plus the audience check on the stored aud values).
//
// Tokens come from bench/make_tokens.py, as bench/cli_throughput.sh makes
// them (build/bench-cli/{bundle,tokens}-{ES256,RS256}.txt), or from the
// folder in SVIDGATE_BENCH_TOKENS.
//
// Build and run:
//   bench/cli_throughput.sh 10000     # makes the tokens once
//   cmake --preset release -DSVIDGATE_BENCH=ON && cmake --build build -j2
//   build/bench_core
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <urcu-qsbr.h>

extern "C" {
#include "cache/verify_cache.h"
#include "core/bundle.h"
#include "core/jws.h"
#include "core/jwt_svid.h"
#include "core/spiffe_id.h"
#include "core/verifier.h"
#include "net/verdict_cache.h"
}

namespace {

constexpr int64_t kLeeway = 30;
constexpr size_t kTokensUsed = 1000;

struct Algorithm {
    struct sg_trust_set *trust = nullptr;
    std::vector<std::string> tokens;
};

Algorithm es256, rs256;
struct sg_verifier *verifier;
int64_t now_seconds;
const struct sg_slice audience = {reinterpret_cast<const uint8_t *>("bench"), 5};

std::string ReadFile(const std::string &path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        std::fprintf(stderr, "cannot read %s; run bench/cli_throughput.sh first\n", path.c_str());
        std::exit(2);
    }
    return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

void Load(Algorithm *algorithm, const std::string &folder, const char *name)
{
    std::string bundle_text = ReadFile(folder + "/bundle-" + name + ".json");
    std::string tokens_text = ReadFile(folder + "/tokens-" + name + ".txt");
    struct sg_bundle *bundle = nullptr;
    struct sg_status status;
    size_t start = 0;

    algorithm->trust = sg_trust_set_new(1);
    if (sg_bundle_parse(sg_slice_cstr("bench.example"),
                        sg_slice_make(bundle_text.data(), bundle_text.size()), &bundle,
                        &status) != SG_OK ||
        sg_trust_set_add(algorithm->trust, bundle, &status) != SG_OK) {
        std::fprintf(stderr, "bundle %s: %s\n", name, status.message);
        std::exit(2);
    }
    while (start < tokens_text.size() && algorithm->tokens.size() < kTokensUsed) {
        size_t end = tokens_text.find('\n', start);
        if (end == std::string::npos)
            end = tokens_text.size();
        algorithm->tokens.push_back(tokens_text.substr(start, end - start));
        start = end + 1;
    }
}

struct sg_slice Slice(const std::string &text)
{
    return sg_slice_make(text.data(), text.size());
}

void BM_SpiffeIdParse(benchmark::State &state)
{
    const struct sg_slice id = sg_slice_cstr("spiffe://bench.example/ns/prod/sa/workload-1234");
    struct sg_spiffe_id parsed;
    struct sg_status status;

    for (auto _ : state)
        benchmark::DoNotOptimize(sg_spiffe_id_parse(id, &parsed, &status));
}
BENCHMARK(BM_SpiffeIdParse);

void BM_JwsParse(benchmark::State &state)
{
    struct sg_jws jws;
    struct sg_status status;
    size_t i = 0;

    for (auto _ : state) {
        benchmark::DoNotOptimize(sg_jws_parse(Slice(es256.tokens[i++ % es256.tokens.size()]),
                                              &jws, &status));
        sg_jws_clear(&jws);
    }
}
BENCHMARK(BM_JwsParse);

// The full miss path of a request: verify, check the audience, render the result.
void VerifyMiss(benchmark::State &state, const Algorithm &algorithm)
{
    const struct sg_jwt_options options = {now_seconds, kLeeway};
    size_t i = 0;

    for (auto _ : state) {
        struct sg_jwt_svid svid;
        const std::string &token = algorithm.tokens[i++ % algorithm.tokens.size()];

        if (sg_jwt_svid_verify(verifier, algorithm.trust, Slice(token), &options, &svid) != SG_OK ||
            sg_jwt_svid_check_audience(&svid, &audience, 1) != SG_OK)
            state.SkipWithError("a benchmark token did not verify");
        std::free(sg_jwt_svid_result_json(&svid));
        sg_jwt_svid_clear(&svid);
    }
}

void BM_VerifyMissES256(benchmark::State &state) { VerifyMiss(state, es256); }
void BM_VerifyMissRS256(benchmark::State &state) { VerifyMiss(state, rs256); }
BENCHMARK(BM_VerifyMissES256);
BENCHMARK(BM_VerifyMissRS256);

// The hit path of a request: cache lookup, then the audience check on the stored verdict.
void CacheHit(benchmark::State &state, const Algorithm &algorithm)
{
    const struct sg_jwt_options options = {now_seconds, kLeeway};
    /* Room to spare, so that no bucket overflows and every lookup is a hit. */
    struct sg_cache *cache = sg_cache_new(16 * kTokensUsed);
    struct sg_verdict_cache verdicts;
    size_t i = 0;

    rcu_register_thread();
    if (cache == nullptr || !sg_verdict_cache_init(&verdicts, cache, nullptr)) {
        state.SkipWithError("cannot create the cache");
        return;
    }
    for (const std::string &token : algorithm.tokens) {
        struct sg_jwt_svid svid;
        if (sg_jwt_svid_verify(verifier, algorithm.trust, Slice(token), &options, &svid) != SG_OK)
            state.SkipWithError("a benchmark token did not verify");
        char *json = sg_jwt_svid_result_json(&svid);
        sg_verdict_cache_store_jwt(&verdicts, Slice(token), 1, kLeeway, &svid, sg_slice_cstr(json));
        std::free(json);
        sg_jwt_svid_clear(&svid);
    }

    for (auto _ : state) {
        const std::string &token = algorithm.tokens[i++ % algorithm.tokens.size()];
        const struct sg_cache_entry *entry =
            sg_verdict_cache_find(&verdicts, SG_CREDENTIAL_JWT, Slice(token), 1, kLeeway,
                                  now_seconds);
        struct sg_slice json;
        char *owned;

        if (entry == nullptr ||
            sg_verdict_cache_answer_jwt(entry, &audience, 1, &json, &owned) != SG_OK) {
            state.SkipWithError("a cached token was not a valid hit");
            break;
        }
        benchmark::DoNotOptimize(json);
        if ((i & 63) == 0)
            rcu_quiescent_state();
    }

    sg_verdict_cache_destroy(&verdicts);
    sg_cache_free(cache);
    rcu_unregister_thread();
}

void BM_CacheHitES256(benchmark::State &state) { CacheHit(state, es256); }
void BM_CacheHitRS256(benchmark::State &state) { CacheHit(state, rs256); }
BENCHMARK(BM_CacheHitES256);
BENCHMARK(BM_CacheHitRS256);

}  // namespace

int main(int argc, char **argv)
{
    const char *configured = std::getenv("SVIDGATE_BENCH_TOKENS");
    std::string folder = configured != nullptr ? configured : "build/bench-cli";

    now_seconds = static_cast<int64_t>(std::time(nullptr));
    verifier = sg_verifier_new();
    Load(&es256, folder, "ES256");
    Load(&rs256, folder, "RS256");

    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
