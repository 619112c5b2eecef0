#include "stats.hpp"

namespace iot::emu {

Json StatsSnapshot::to_json() const {
    Json::Object groups_json;
    for (const auto& [name, g] : groups) {
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
        groups_json[name] = Json(Json::Object{
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
            {"codes", Json(std::move(codes_json))},
            {"clients", Json(std::move(clients_json))},
        });
    }
    return Json(Json::Object{
        {"groups", Json(std::move(groups_json))},
        {"auth_failures_unparsed", Json(auth_failures_unparsed)},
        {"unauthenticated_opens", Json(unauthenticated_opens)},
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
