#include "stats.hpp"

namespace iot::emu {

namespace {

Json group_json(const GroupStats& g) {
    Json::Object clients_json;
    for (const auto& [client_id, c] : g.clients) {
        clients_json[client_id] = Json(Json::Object{
            {"last_timestamp", Json(c.last_timestamp)},
            {"attempts", Json(c.attempts)},
            {"connections_total", Json(c.connections_total)},
            {"stale_timestamps", Json(c.stale_timestamps)},
        });
    }
    Json::Object codes_json;
    for (const auto& [code, count] : g.codes) codes_json[std::to_string(code)] = Json(count);
    const auto& q = g.queue;
    return Json(Json::Object{
        {"published", Json(q.published)},
        {"delivered", Json(q.delivered)},
        {"accepted", Json(q.accepted)},
        {"late_accepts", Json(q.late_accepts)},
        {"redelivered", Json(q.redelivered)},
        {"released", Json(q.released)},
        {"rejected", Json(q.rejected)},
        {"modified", Json(q.modified)},
        {"ack_timeouts", Json(q.ack_timeouts)},
        {"requeued_on_loss", Json(q.requeued_on_loss)},
        {"in_flight", Json(q.in_flight)},
        {"queued", Json(q.queued)},
        {"connections", Json(g.connections)},
        {"connections_total", Json(g.connections_total)},
        {"links", Json(g.links)},
        {"auth_ok", Json(g.auth_ok)},
        {"auth_failures", Json(g.auth_failures)},
        {"refused_attempts", Json(g.refused_attempts)},
        {"stale_timestamps", Json(g.stale_timestamps)},
        {"closes_with_link_attached", Json(g.closes_with_link_attached)},
        {"max_link_credit", Json(g.max_link_credit)},
        {"codes", Json(std::move(codes_json))},
        {"clients", Json(std::move(clients_json))},
    });
}

Json access_key_json(const AccessKeyStats& k) {
    Json::Array names;
    for (const auto& name : k.user_names) names.push_back(Json(name));
    return Json(Json::Object{
        {"attempts", Json(k.attempts)},
        {"auth_ok", Json(k.auth_ok)},
        {"auth_failures", Json(k.auth_failures)},
        {"refused_attempts", Json(k.refused_attempts)},
        {"connections", Json(k.connections)},
        {"connections_total", Json(k.connections_total)},
        {"reused_timestamps", Json(k.reused_timestamps)},
        {"last_timestamp", Json(k.last_timestamp)},
        {"user_names", Json(std::move(names))},
    });
}

}  // namespace

Json StatsSnapshot::to_json() const {
    Json::Object groups_json;
    for (const auto& [name, g] : groups) groups_json[name] = group_json(g);
    Json::Object queues_json;
    for (const auto& [name, q] : queues) queues_json[name] = group_json(q);
    Json::Object keys_json;
    for (const auto& [key, k] : access_keys) keys_json[key] = access_key_json(k);
    return Json(Json::Object{
        {"groups", Json(std::move(groups_json))},
        {"auth_failures_unparsed", Json(auth_failures_unparsed)},
        {"unauthenticated_opens", Json(unauthenticated_opens)},
        {"queues", Json(std::move(queues_json))},
        {"access_keys", Json(std::move(keys_json))},
        {"iotda_auth_failures_unparsed", Json(iotda_auth_failures_unparsed)},
    });
}

Json to_json(const std::vector<ClientInfo>& clients) {
    Json::Array out;
    for (const auto& c : clients) {
        out.push_back(Json(Json::Object{
            {"id", Json(c.id)},
            {"group", Json(c.group)},
            {"client_id", Json(c.client_id)},
            {"remote", Json(c.remote)},
            {"online_since_ms", Json(c.online_since_ms)},
            {"link", Json(c.link)},
        }));
    }
    return Json(std::move(out));
}

}  // namespace iot::emu
