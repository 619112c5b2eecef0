// The registry of cloud profiles: every src/clouds/<name>_profile.cpp, listed
// by the build in cloud_profiles.inc (CMakeLists.txt), so a new profile needs
// no line here.
#include "iot-amqpd/cloud_profile.hpp"

#include <algorithm>

namespace iot {

#define IOT_CLOUD_PROFILE(name) const CloudProfile& name##_profile();
#include "cloud_profiles.inc"
#undef IOT_CLOUD_PROFILE

const std::vector<const CloudProfile*>& cloud_profiles() {
    static const std::vector<const CloudProfile*> kAll = [] {
        std::vector<const CloudProfile*> all{
#define IOT_CLOUD_PROFILE(name) &name##_profile(),
#include "cloud_profiles.inc"
#undef IOT_CLOUD_PROFILE
        };
        // The default first, the others by name: the order errors and documentation list them in.
        std::sort(all.begin(), all.end(), [](const CloudProfile* a, const CloudProfile* b) {
            if ((a->name() == kDefaultCloud) != (b->name() == kDefaultCloud)) return a->name() == kDefaultCloud;
            return a->name() < b->name();
        });
        return all;
    }();
    return kAll;
}

const CloudProfile* find_cloud_profile(std::string_view name) {
    for (const CloudProfile* profile : cloud_profiles())
        if (profile->name() == name) return profile;
    return nullptr;
}

const cfg::KeySet& CloudProfile::group_only_keys() const {
    static const cfg::KeySet kNone;
    return kNone;
}

std::string_view CloudProfile::failure_hint(FailureKind /*kind*/, std::string_view /*condition*/,
                                            std::string_view /*description*/) const {
    return {};
}

}  // namespace iot
