#pragma once

// The messages a coordinator and its nodes exchange, as plain structs. Framing and serialisation
// live in codec.h; nothing here knows about bytes or sockets. Every message travels in an Envelope
// that names the run and the round it belongs to, so stale or misdirected messages can be refused
// by the state machines.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cartable::protocol {

// Frames carry it; a peer speaking another version is refused (codec.h). 2: SecAgg+ commitments to
// secrets and shares, and reports of unusable shares. 5: DP-SGD parameters in TrainRequest. 7:
// secure evaluation (a SecAgg+ plan in EvaluateRequest). 8: evaluation by subgroup (fairness).
inline constexpr uint8_t kProtocolVersion = 8;

// One hyperparameter of a model, as text (the model parses and checks it).
struct ModelOption {
  std::string key;
  std::string value;
};

// What a model is, as the coordinator announces it (models::ModelSpec on either side).
struct WireModelSpec {
  std::string name;
  uint32_t num_skills = 0;
  uint32_t num_items = 0;     // 0: the data carry no item ids
  uint32_t num_features = 0;  // per-pupil record features, for early-warning models
  std::vector<ModelOption> options;
};

// How a node trains locally in one round.
struct WireTrainConfig {
  uint32_t local_epochs = 1;
  uint32_t batch_size = 256;
  float learning_rate = 0.05f;
  uint64_t seed = 0;
};

// DP-SGD per pupil at every node (models::PupilDp), as the plan's [privacy] table asks: each node
// trains E local epochs in ceil(E / sampling_rate) steps, and the run's `rounds` of it cost every
// pupil (ε, delta) by the RDP accountant, the same for every node. enabled = 0: plain training.
struct WirePupilDp {
  uint8_t enabled = 0;
  double noise_multiplier = 0;
  double clip_norm = 0;
  double sampling_rate = 0;
  double delta = 0;
  uint32_t rounds = 0;
};

// Establishment-level DP under secure aggregation, the distributed discrete Gaussian
// (aggregation/privacy/distributed_gaussian.h): each node adds its share of integer noise before
// masking, sized so that the sum of `min_contributors` shares carries noise_multiplier × the
// sensitivity; a sum of fewer is never unmasked. Every integer of the mechanism follows from these
// values and the round's contribution layout and cohort, on each side.
struct WireEstablishmentDp {
  uint8_t enabled = 0;
  double noise_multiplier = 0;
  uint32_t min_contributors = 0;
  double delta = 0;
  uint32_t rounds = 0;
};

using PublicKeyBytes = std::array<uint8_t, 32>;
using SignatureBytes = std::array<uint8_t, 64>;
using DigestBytes = std::array<uint8_t, 32>;  // SHA-256

// The most members a secure round can have: a Shamir share's x is its holder's index + 1, at most
// 65535. Lists of members in SecAgg+ messages are refused beyond it before anything is allocated.
inline constexpr size_t kMaxSecAggMembers = 65535;

// node → coordinator, first message on a connection. `signing_key` is the node's Ed25519 identity
// key, which signs its secure-aggregation messages.
struct Hello {
  std::string node_name;
  PublicKeyBytes signing_key{};
};

struct CohortMember {
  std::string name;
  PublicKeyBytes signing_key{};
};

// How a node packs its contribution to a round (exchange/contribution.h): every packed value lies
// in [−value_range, value_range], `weight_cap` examples give a node the full weight 1, and a
// `max_norm` above 0 bounds the L2 norm of the node's delta (0: no bound beyond the value range).
struct WireContribution {
  double value_range = 4.0;
  double weight_cap = 10000;
  double max_norm = 0;
};

// How this round's updates are securely aggregated (SecAgg+); `enabled` 0 means updates travel in
// the clear (comparison runs only). Members are indices into `cohort`, which is sorted by name. The
// quantiser's range is the contribution's value range.
struct SecAggPlan {
  uint8_t enabled = 0;
  uint32_t neighbours = 0;         // k, or 0 for every member (classic SecAgg)
  uint32_t corrupt_allowance = 0;  // colluders among a member's neighbours the threshold outlasts
  uint32_t modulus_bits = 32;
  std::array<uint8_t, 32> graph_seed{};
  std::vector<CohortMember> cohort;
};

// coordinator → node: train from these global parameters. `plan_hash` is the SHA-256 of the run's
// plan (coordinator/plan.h), all zeros for a run started from flags without one; a node logs it.
// `proximal_mu` above 0 adds FedProx's proximal term μ/2·‖w − w_global‖² to local training.
struct TrainRequest {
  WireModelSpec model;
  WireTrainConfig config;
  std::vector<float> global_parameters;
  WireContribution contribution;
  SecAggPlan secagg;
  DigestBytes plan_hash{};
  float proximal_mu = 0;
  WirePupilDp dp;
  WireEstablishmentDp establishment_dp;
};

// node → coordinator, in rounds without secure aggregation only: the node's packed contribution
// (exchange/contribution.h), the very vector it would otherwise mask.
struct TrainResult {
  std::vector<float> contribution;
};

// coordinator → node: evaluate these parameters on the held-out pupils. With `secagg` enabled the
// node answers with no EvaluateResult: its statistics go through a SecAgg+ round of their own
// (exchange/evaluation_vector.h), whose plan this is, and the coordinator unmasks only their sum.
//
// `groups` asks for the statistics of each subgroup too (models/fairness.h): each attribute with
// the values that are its subgroups (at most models::kMaxSubgroups in all); the node's own report
// suppresses its subgroups of fewer than `min_group_pupils` pupils, as the coordinator's does.
struct WireAttribute {
  std::string name;
  std::vector<std::string> values;
};
struct EvaluateRequest {
  WireModelSpec model;
  std::vector<float> parameters;
  SecAggPlan secagg;
  std::vector<WireAttribute> groups;
  uint64_t min_group_pupils = 0;
};

// node → coordinator, in evaluations without secure aggregation only (comparison runs): summable
// evaluation statistics (per-label score histograms and sums, and the pupils behind them), from
// which the coordinator computes federation-wide AUC, accuracy and log-loss without seeing any
// single prediction, but with each school's figures in view: `all` of the held-out answers, and
// `groups` one per subgroup the request asked for, in its order.
struct WireGroupStatistics {
  std::vector<uint64_t> positive_histogram;
  std::vector<uint64_t> negative_histogram;
  double log_loss_sum = 0;
  uint64_t correct = 0;
  uint64_t count = 0;
  double squared_error_sum = 0;
  uint64_t pupils = 0;
};
struct EvaluateResult {
  WireGroupStatistics all;
  std::vector<WireGroupStatistics> groups;
};

// coordinator → node: the run is over (or was stopped); `reason` says which.
struct Shutdown {
  std::string reason;
};

// either way: the peer could not act on a message. `message` is for the other side's log. A node
// that refuses a round because of another member (a cohort member whose identity key is not the one
// in its roster, an advert that does not verify) names it in `accused`, so the coordinator can
// leave the right member out when it tries again.
struct ErrorReply {
  uint32_t code = 0;  // a StatusCode, kErrorNotJoined or kErrorDeclined
  std::string message;
  std::vector<std::string> accused;
};

// ErrorReply code from a coordinator that does not know the sender (it restarted, or forgot a
// silent node): the node should say Hello again.
inline constexpr uint32_t kErrorNotJoined = 1000;

// ErrorReply code from a node whose establishment declines what the run asks of it (a model,
// option, number of epochs or privacy cost its policy does not allow, or an update in the clear):
// the message says why, and the coordinator asks it nothing more in this run.
inline constexpr uint32_t kErrorDeclined = 1001;

// The SecAgg+ stages (aggregation/secagg/round_messages.h says what each carries and checks).
// node → coordinator, AdvertiseKeys.
struct KeyAdvert {
  uint32_t member = 0;
  PublicKeyBytes mask_key{};
  PublicKeyBytes share_key{};
  DigestBytes seed_commitment{};  // to the member's self seed; the signature covers it
  SignatureBytes signature{};
};
// coordinator → node: the adverts received.
struct KeyList {
  std::vector<KeyAdvert> adverts;
};
// A share pair `from` sealed for `to`, with `from`'s commitments to the two shares inside.
struct SealedShare {
  uint32_t from = 0;
  uint32_t to = 0;
  DigestBytes self_seed_commitment{};
  DigestBytes mask_key_commitment{};
  std::vector<uint8_t> ciphertext;
};
// node → coordinator, ShareKeys: one sealed share pair per neighbour.
struct ShareKeys {
  std::vector<SealedShare> shares;
};
// coordinator → node: the shares its neighbours sealed for it, each with its commitments.
struct ShareDelivery {
  std::vector<SealedShare> shares;
};
// node → coordinator: the masked, quantised update (words32 when the modulus has ≤ 32 bits, else
// words64), and the neighbours whose shares the node could not use (members, ascending; at most
// kMaxSecAggMembers).
struct MaskedInput {
  std::vector<uint32_t> words32;
  std::vector<uint64_t> words64;
  std::vector<uint32_t> unusable_from;
};
// coordinator → node, ConsistencyCheck: the members whose masked input arrived.
struct SurvivorList {
  std::vector<uint32_t> survivors;
};
struct SurvivorSignature {
  SignatureBytes signature{};
};
struct MemberSignature {
  uint32_t member = 0;
  SignatureBytes signature{};
};
// coordinator → node, Unmask: the survivors' signatures over the survivor list.
struct UnmaskRequest {
  std::vector<MemberSignature> signatures;
};
struct RevealedShare {
  uint32_t of = 0;
  std::vector<uint8_t> share;
};
// node → coordinator: one kind of share per neighbour held.
struct UnmaskResponse {
  std::vector<RevealedShare> self_seed_shares;
  std::vector<RevealedShare> mask_key_shares;
};

// either way: "still here". A node sends one when it has been quiet for a while, and the
// coordinator answers it; the coordinator also sends one to every node it has sent nothing to for a
// heartbeat interval, so a node notices a coordinator that is gone within a few intervals.
struct Heartbeat {};

// researcher → coordinator, on the admin socket only. `command` names what is asked; `run_id`,
// `offset` and `document` are its arguments where it takes them (docs/wire-format.md lists the
// commands): the run it is about, where a file fetch resumes, and a plan file's text (at most
// kMaxAdminDocumentBytes, like a reply's document).
struct AdminRequest {
  std::string command;
  uint64_t run_id = 0;
  uint64_t offset = 0;
  std::vector<uint8_t> document;
};

// Largest JSON document an AdminReply carries; a coordinator never sends more, and a client decodes
// admin frames with a payload limit just above it.
inline constexpr size_t kMaxAdminDocumentBytes = size_t{1} << 20;  // 1 MiB

// coordinator → researcher: `code` 0 and a JSON document (UTF-8 text, at most
// kMaxAdminDocumentBytes) on success; a StatusCode and `message` saying why otherwise.
struct AdminReply {
  uint32_t code = 0;
  std::string message;
  std::vector<uint8_t> json;
};

using Body = std::variant<Hello, TrainRequest, TrainResult, EvaluateRequest, EvaluateResult,
                          Shutdown, ErrorReply, Heartbeat, KeyAdvert, KeyList, ShareKeys,
                          ShareDelivery, MaskedInput, SurvivorList, SurvivorSignature,
                          UnmaskRequest, UnmaskResponse, AdminRequest, AdminReply>;

enum class MessageType : uint8_t {
  kHello = 1,
  kTrainRequest = 2,
  kTrainResult = 3,
  kEvaluateRequest = 4,
  kEvaluateResult = 5,
  kShutdown = 6,
  kError = 7,
  kHeartbeat = 8,
  kKeyAdvert = 9,
  kKeyList = 10,
  kShareKeys = 11,
  kShareDelivery = 12,
  kMaskedInput = 13,
  kSurvivorList = 14,
  kSurvivorSignature = 15,
  kUnmaskRequest = 16,
  kUnmaskResponse = 17,
  kAdminRequest = 18,
  kAdminReply = 19,
};
inline constexpr uint8_t kLastMessageType = 19;

// Where in a round a message belongs; carried in the frame header so stale stages can be refused.
enum class Stage : uint8_t {
  kJoin = 0,
  kTrain = 1,
  kEvaluate = 2,
  kControl = 3,
  kAdvertiseKeys = 4,
  kShareKeys = 5,
  kMaskedInput = 6,
  kConsistencyCheck = 7,
  kUnmask = 8,
};

struct Envelope {
  uint64_t run_id = 0;
  uint32_t round = 0;
  Body body;
};

MessageType TypeOf(const Body& body);
Stage StageOf(MessageType type);
std::string_view MessageTypeName(MessageType type);

}  // namespace cartable::protocol
