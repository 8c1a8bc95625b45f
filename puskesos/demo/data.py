"""Invented material for the demo data set: names, addresses and the texts officers,
caseworkers and agencies would type. No real person is described here.

Names follow what a Puskesos desk in South Sumatra sees: mostly Malay-Muslim given
names, many people with a single name, some with a second name or a `bin`/`binti`
patronymic, and children with the longer modern names of the last twenty years.
"""

from __future__ import annotations

# -- people ---------------------------------------------------------------------------------------------------

MALE_NAMES = (
    "Ahmad", "Muhammad", "Abdul Rahman", "Agus", "Amir", "Anwar", "Arman", "Bambang", "Budi", "Darmawan", "Dedi",
    "Edi", "Efendi", "Fauzi", "Firdaus", "Hamdan", "Hasan", "Hendra", "Herman", "Herli", "Ibrahim", "Ilham",
    "Iskandar", "Ismail", "Iwan", "Jamaludin", "Joni", "Junaidi", "Kamaludin", "Khairul", "Lukman", "Mahmud",
    "Marzuki", "Mulyadi", "Nasrul", "Rahmat", "Ridwan", "Romli", "Rudi", "Safarudin", "Salim", "Sapri", "Sobri",
    "Sukri", "Sulaiman", "Syahrial", "Syamsul", "Taufik", "Umar", "Usman", "Wahyudi", "Yusuf", "Zainal",
    "Zulkifli", "Badrul", "Cik Din", "Mat Ali", "Rusdi", "Samsudin", "Zainudin",
)

FEMALE_NAMES = (
    "Aisyah", "Ani", "Asmawati", "Dewi", "Eka", "Elis", "Erna", "Fatimah", "Fitri", "Halimah", "Hartini",
    "Herlina", "Indah", "Juliana", "Jumiati", "Kartini", "Linda", "Maimunah", "Marlina", "Maryam", "Masitoh",
    "Mega", "Nur", "Nuraini", "Nurhayati", "Nurlela", "Rini", "Rohaya", "Rosidah", "Rosmaini", "Rukiah", "Salmah",
    "Saudah", "Siti", "Sri", "Suryani", "Susi", "Tuti", "Umi", "Wati", "Yanti", "Yeni", "Yuliana", "Yusnani",
    "Zubaidah", "Cik Ani", "Nyimas Ratna", "Rosita", "Sumarni", "Warsini",
)

# Second names and family names common in South Sumatra and across Indonesia.
MALE_FAMILY_NAMES = (
    "Saputra", "Syahputra", "Pratama", "Hidayat", "Kurniawan", "Setiawan", "Gunawan", "Irawan", "Firmansyah",
    "Ramadhan", "Hakim", "Rasyid", "Husin", "Ansori", "Kusuma", "Sanjaya", "Hermawan", "Effendi", "Harahap",
    "Wijaya", "Nugroho", "Siregar", "Fahlevi", "Alamsyah",
)

FEMALE_FAMILY_NAMES = (
    "Sari", "Lestari", "Susanti", "Handayani", "Rahmawati", "Yuliani", "Agustina", "Wulandari", "Fitriani",
    "Novita", "Apriyani", "Oktaviani", "Puspita", "Anggraini", "Febriani", "Maharani", "Ningsih", "Hasanah",
    "Safitri", "Purnamasari",
)

# Children and young people (born after about 2005).
BOY_NAMES = (
    "Muhammad Rizki", "Aditya", "Dimas", "Rafa", "Fajar", "Arya", "Bayu", "Farhan", "Galih", "Haikal", "Iqbal",
    "Kevin", "Naufal", "Rangga", "Reza", "Alif", "Zidan", "Fikri",
)

GIRL_NAMES = (
    "Nayla", "Aulia", "Zahra", "Putri", "Salsabila", "Alya", "Azizah", "Dinda", "Keisya", "Nabila", "Rara",
    "Syifa", "Tiara", "Zaskia", "Annisa", "Khansa",
)

# Who brings the complaint when the complainant does not come alone.
REPORTER_RELATIONS_FOR_CHILD = ("Ibu kandung", "Ayah kandung", "Nenek", "Kakek", "Paman", "Bibi")
REPORTER_RELATIONS_FOR_ELDER = ("Anak", "Menantu", "Cucu", "Tetangga")
REPORTER_RELATIONS_OTHER = ("Suami", "Istri", "Tetangga", "Ketua RT", "Kader PKK", "Pendamping PKH", "Kepala dusun")

# Indonesian mobile prefixes (Telkomsel, Indosat, XL, Tri, Smartfren).
PHONE_PREFIXES = (
    "0812", "0812", "0813", "0821", "0822", "0823", "0852", "0853", "0851", "0856", "0857", "0858", "0817",
    "0818", "0819", "0877", "0878", "0895", "0896", "0881",
)

# -- addresses ------------------------------------------------------------------------------------------------

# A kelurahan (town ward) has streets; a desa has hamlets (dusun) and lanes.
STREETS = (
    "Jl. Jend. Sudirman", "Jl. Ahmad Yani", "Jl. Lintas Sumatera", "Jl. Bukit Asam", "Jl. Pramuka", "Jl. Merdeka",
    "Jl. Perwira", "Jl. Lematang", "Jl. Sungai Enim", "Jl. Perintis Kemerdekaan", "Jl. Kartini",
    "Jl. Diponegoro", "Jl. Mayor Ruslan", "Jl. Veteran", "Jl. Pasar Baru", "Jl. Stasiun",
)

LANES = (
    "Lorong Masjid", "Lorong Pasar", "Lorong Sekolah", "Lorong Pemakaman", "Gang Mawar", "Gang Melati",
    "Gang Rambutan", "Lorong Kebun Karet", "Lorong Talang", "Gang Damai", "Lorong Surau",
)

DUSUN = ("I", "II", "III", "IV", "V", "VI")

HAMLET_PLACES = (
    "Talang Sawah", "Talang Padang", "Simpang Tiga", "Tepi Sungai", "Kebun Karet", "Pasar Desa", "Ujung Tanjung",
)

# -- complaints (Indonesian, as a front-desk officer would write them) ---------------------------------------

DESCRIPTIONS = {
    "health": (
        "Kartu KIS (PBI-JK) tidak aktif ketika berobat ke puskesmas; pengadu diminta membayar biaya pengobatan.",
        "Anak demam tinggi dan disarankan dirawat di RSUD, tetapi keluarga tidak memiliki jaminan kesehatan.",
        "Iuran BPJS Kesehatan mandiri kelas III menunggak sejak {months} bulan karena suami tidak bekerja; "
        "mohon dialihkan menjadi peserta PBI.",
        "Penderita TB paru membutuhkan biaya transportasi untuk kontrol rutin ke puskesmas kecamatan.",
        "Ibu hamil tujuh bulan belum memiliki jaminan kesehatan dan khawatir dengan biaya persalinan.",
        "Penderita stroke membutuhkan kontrol rutin, tetapi KIS nonaktif setelah pemutakhiran data.",
        "Pasien cuci darah dua kali seminggu; kepesertaan PBI dinonaktifkan bulan lalu tanpa pemberitahuan.",
    ),
    "education": (
        "Anak tidak menerima dana PIP tahun ini padahal memiliki KIP; sekolah menyarankan melapor ke Puskesos.",
        "Anak berhenti sekolah di kelas 8 karena orang tua tidak mampu membeli seragam dan membayar ongkos.",
        "Anak diterima di SMA negeri, tetapi keluarga tidak sanggup memenuhi kebutuhan sekolah; mohon bantuan KIP.",
        "Anak lulus SMA dan diterima di perguruan tinggi negeri di Palembang; membutuhkan rekomendasi KIP-Kuliah.",
        "Nama anak di Dapodik berbeda dengan akta kelahiran sehingga dana PIP tidak dapat dicairkan.",
    ),
    "socio_economic": (
        "Keluarga dikeluarkan dari daftar penerima PKH tanpa pemberitahuan, padahal kondisi ekonomi tidak berubah.",
        "Kepala keluarga meninggal dunia; istri dengan tiga anak kecil tidak memiliki penghasilan tetap.",
        "Suami terkena PHK dari perusahaan kontraktor tambang; keluarga meminta didaftarkan ke DTSEN.",
        "Saldo KKS PKH tidak bertambah sejak {months} tahap terakhir; pengadu menanyakan statusnya.",
        "Keluarga belum pernah didata dan menanyakan cara mengusulkan diri masuk DTSEN.",
    ),
    "food": (
        "Bantuan sembako (BPNT) tidak diterima lagi sejak awal tahun.",
        "Nama pengadu ada di daftar penerima bantuan beras, tetapi jatah tidak pernah diterima.",
        "Keluarga kekurangan bahan pangan setelah harga getah karet turun dan penghasilan berkurang.",
        "Kartu KKS hilang sehingga tidak dapat mengambil bantuan sembako di e-warong.",
    ),
    "energy": (
        "Listrik rumah diputus karena menunggak {months} bulan; keluarga meminta bantuan subsidi listrik.",
        "Rumah belum teraliri listrik PLN dan masih menumpang sambungan dari rumah tetangga.",
        "Tidak dapat membeli LPG 3 kg karena NIK belum terdaftar di pangkalan resmi.",
        "Meteran listrik prabayar rusak dan keluarga tidak mampu membayar penggantiannya.",
    ),
    "agriculture": (
        "Petani karet tidak mendapat pupuk bersubsidi karena belum terdaftar di kelompok tani (e-RDKK).",
        "Kebun kopi rusak tertimbun longsor; keluarga kehilangan sumber penghasilan utama.",
        "Petani penggarap tidak mampu memenuhi kebutuhan harian karena harga getah karet anjlok.",
        "Menanyakan bantuan bibit dan alat pertanian untuk petani kecil.",
    ),
    "fisheries": (
        "Keramba ikan di sungai hanyut terbawa banjir; pengadu kehilangan mata pencaharian.",
        "Nelayan sungai belum memiliki kartu KUSUKA sehingga tidak dapat mengakses bantuan perikanan.",
        "Kolam ikan kering saat kemarau panjang; menanyakan bantuan benih ikan.",
    ),
    "housing": (
        "Rumah panggung kayu lapuk dan atap bocor; mohon diusulkan program RTLH (bedah rumah).",
        "Rumah rusak berat tertimpa pohon saat hujan angin; keluarga menumpang di rumah kerabat.",
        "Rumah tidak memiliki jamban sehat; keluarga mandi dan buang air di sungai.",
        "Dinding rumah retak dan lantai masih tanah; keluarga tidak mampu memperbaiki.",
    ),
    "civil_documents": (
        "Belum memiliki KTP-el sehingga tidak dapat didaftarkan sebagai penerima bantuan sosial.",
        "Anak belum memiliki akta kelahiran, padahal diperlukan untuk mendaftar sekolah.",
        "NIK pada Kartu Keluarga tidak padan dengan data Dukcapil sehingga bantuan sosial ditolak.",
        "Kartu Keluarga hilang saat rumah terbakar; perlu penggantian KK dan KTP-el.",
        "Perubahan status setelah perceraian belum dicatat di Kartu Keluarga.",
    ),
    "disability": (
        "Anak penyandang disabilitas fisik membutuhkan kursi roda dan terapi rutin.",
        "Penyandang disabilitas netra membutuhkan alat bantu dan pelatihan keterampilan.",
        "Penyandang disabilitas mental kurang terurus dan keluarga membutuhkan pendampingan.",
        "Mohon didata sebagai penyandang disabilitas agar dapat menerima bantuan ATENSI.",
    ),
    "elderly": (
        "Lansia tinggal sendirian, tidak memiliki penghasilan dan sering sakit.",
        "Lansia tidak lagi menerima bantuan komponen lansia dari program PKH.",
        "Lansia ditinggal anak merantau ke Jakarta dan membutuhkan bantuan permakanan.",
        "Lansia lumpuh membutuhkan popok dewasa, kasur dan pemeriksaan kesehatan di rumah.",
    ),
    "child_protection": (
        "Anak ditinggal orang tua merantau dan diasuh nenek yang sudah renta.",
        "Dugaan kekerasan dalam rumah tangga terhadap anak; ibu meminta perlindungan.",
        "Anak yatim piatu belum memperoleh bantuan sosial anak (ATENSI YAPI).",
        "Anak usia sekolah ikut bekerja menyadap karet; keluarga membutuhkan pendampingan.",
    ),
    "employment": (
        "Kepala keluarga korban PHK membutuhkan pelatihan kerja dan informasi lowongan.",
        "Pemuda putus sekolah meminta informasi pelatihan keterampilan di BLK.",
        "Pengadu ingin membuka warung kecil dan menanyakan bantuan modal usaha.",
        "Mantan pekerja migran pulang tanpa pekerjaan dan membutuhkan bantuan usaha.",
    ),
    "other": (
        "Menanyakan jadwal dan syarat pendaftaran bantuan sosial di desa.",
        "Korban kebakaran rumah membutuhkan bantuan darurat berupa pakaian dan peralatan dapur.",
        "Pengadu menilai data penerima bansos di desa tidak tepat sasaran dan meminta penjelasan.",
        "Menanyakan status usulan bantuan yang diajukan tahun lalu.",
    ),
}

# What the front desk did when the complaint ends there (resolve_at_intake).
INTAKE_ACTIONS = {
    "health": (
        "Status PBI-JK dicek di SIKS-NG; kepesertaan ternyata aktif. Dijelaskan cara berobat cukup dengan NIK.",
        "Dibantu mengisi formulir usulan reaktivasi PBI-JK; dijelaskan alurnya di Dinsos.",
        "Diberi informasi rujukan berjenjang dan nomor pengaduan BPJS Kesehatan 165.",
    ),
    "education": (
        "Dijelaskan jadwal pencairan PIP dan cara mengecek status di laman PIP.",
        "Dibuatkan surat keterangan tidak mampu dari desa untuk diserahkan ke sekolah.",
    ),
    "socio_economic": (
        "Status kepesertaan dicek di cekbansos; penyaluran tahap berikutnya masih berjalan.",
        "Dibantu mengisi formulir usulan masuk DTSEN untuk dibahas di musyawarah desa.",
    ),
    "food": (
        "Dijelaskan jadwal penyaluran bantuan pangan di kantor pos; nama pengadu ada di daftar tahap berikutnya.",
        "Dibuatkan surat keterangan kehilangan KKS untuk mengurus kartu pengganti di bank penyalur.",
    ),
    "energy": (
        "Dijelaskan syarat subsidi listrik dan cara mendaftarkan NIK untuk LPG 3 kg di pangkalan resmi.",
    ),
    "agriculture": (
        "Dihubungkan dengan penyuluh pertanian lapangan (PPL) untuk pendaftaran kelompok tani.",
    ),
    "fisheries": (
        "Diberi informasi pendaftaran kartu KUSUKA dan nomor kontak dinas perikanan.",
    ),
    "housing": (
        "Dijelaskan syarat usulan RTLH (bukti kepemilikan tanah, foto rumah); dicatat untuk musyawarah desa.",
    ),
    "civil_documents": (
        "Dibantu mengisi formulir F-1.01 dan diberi jadwal layanan jemput bola Disdukcapil di kecamatan.",
        "Dijelaskan syarat akta kelahiran; berkas langsung dibawa ke kantor kecamatan.",
    ),
}

GENERAL_INTAKE_ACTIONS = (
    "Pertanyaan dijawab di tempat; pengadu diberi penjelasan dan lembar informasi persyaratan.",
    "Pengadu diberi informasi alur layanan dan nomor kontak Puskesos untuk tindak lanjut.",
    "Data pengadu dicek dan ternyata sudah terdaftar; dijelaskan jadwal penyaluran berikutnya.",
)

INFO_REQUESTS = (
    "Mohon surat keterangan tidak mampu dari kepala desa/lurah.",
    "Nomor telepon pengadu tidak aktif; mohon nomor yang dapat dihubungi.",
    "Lampirkan surat keterangan dokter atau puskesmas.",
    "Foto kondisi rumah belum dilampirkan.",
    "Alamat kurang jelas untuk kunjungan rumah; mohon patokan lokasi.",
)
INFO_REQUEST_KK = "Nomor KK belum diisi; mohon lampirkan foto Kartu Keluarga."

ELIGIBLE_FINDINGS = (
    "Kunjungan rumah: rumah semi permanen, kepala keluarga buruh harian lepas dengan penghasilan tidak tetap.",
    "Hasil verifikasi: keluarga miskin dengan {dependants} tanggungan, belum menerima layanan yang dibutuhkan.",
    "Kondisi sesuai pengaduan; penghasilan keluarga di bawah garis kemiskinan kabupaten.",
    "Pengadu penyadap karet upahan; tidak ada anggota keluarga lain yang bekerja tetap.",
)

NOT_ELIGIBLE_FINDINGS = (
    "Hasil verifikasi lapangan: keluarga memiliki usaha dan kendaraan roda empat; tidak termasuk kriteria "
    "miskin atau rentan.",
    "Pengadu sudah menerima layanan yang sama dari program lain tahun ini.",
    "Keluarga termasuk desil atas DTSEN dan penghasilan tetap di atas ketentuan program.",
)

NOT_ELIGIBLE_NOTES = (
    "Hasil asesmen sudah dijelaskan kepada pengadu melalui petugas Puskesos.",
    "Pengadu diberi penjelasan dan diarahkan ke program lain yang sesuai.",
)

# Per agency kind: what a caseworker recommends and asks for, and how the agency answers.
RECOMMENDED_SERVICES = {
    "bpjs_kesehatan": "Reaktivasi atau pendaftaran PBI-JK",
    "disdukcapil": "Perbaikan dan penerbitan dokumen kependudukan",
    "education": "Usulan PIP/KIP melalui sekolah",
    "baznas": "Bantuan Baznas (konsumtif atau modal usaha)",
    "housing": "Usulan bantuan rumah tidak layak huni (RTLH)",
}

REFERRAL_REQUESTS = {
    "bpjs_kesehatan": (
        ("Reaktivasi PBI-JK", "Peserta PBI nonaktif hasil pemutakhiran data; keluarga miskin dan sedang "
                              "membutuhkan layanan kesehatan."),
        ("Pendaftaran peserta PBI-JK baru", "Keluarga belum memiliki jaminan kesehatan dan tidak mampu membayar "
                                            "iuran mandiri."),
    ),
    "disdukcapil": (
        ("Perbaikan data NIK/KK", "NIK tidak padan dengan data kependudukan sehingga bantuan tertahan."),
        ("Penerbitan akta kelahiran", "Anak belum memiliki akta kelahiran yang dibutuhkan untuk bantuan."),
        ("Penerbitan KK dan KTP-el pengganti", "Dokumen hilang; dibutuhkan untuk mengakses layanan sosial."),
    ),
    "education": (
        ("Usulan penerima PIP", "Anak dari keluarga miskin belum menerima PIP."),
        ("Pendampingan kembali ke sekolah", "Anak putus sekolah karena biaya; keluarga bersedia anak kembali."),
    ),
    "baznas": (
        ("Bantuan konsumtif (paket sembako)", "Keluarga tidak memiliki penghasilan tetap dan kekurangan pangan."),
        ("Bantuan modal usaha mikro", "Pengadu memiliki keterampilan dan rencana usaha yang jelas."),
        ("Bantuan biaya pengobatan dan transportasi", "Biaya di luar tanggungan jaminan kesehatan."),
    ),
    "housing": (
        ("Usulan bantuan bedah rumah (RTLH)", "Rumah tidak layak huni; tanah milik sendiri dengan bukti surat."),
        ("Bantuan stimulan perumahan swadaya", "Rumah rusak; keluarga bersedia bergotong royong."),
    ),
}

DECLINE_REASONS = {
    "bpjs_kesehatan": "NIK belum padan dengan data Dukcapil; data kependudukan perlu diperbaiki terlebih dahulu.",
    "disdukcapil": "Berkas belum lengkap: surat keterangan lahir dan buku nikah orang tua belum dilampirkan.",
    "education": "Anak sudah terdaftar sebagai penerima PIP tahun berjalan melalui sekolah.",
    "baznas": "Dana program konsumtif periode ini sudah tersalurkan; diusulkan kembali periode berikutnya.",
    "housing": "Bukti kepemilikan tanah belum ada; belum memenuhi syarat program RTLH.",
}

RETURN_NOTES = (
    "Instansi tujuan kurang tepat: layanan ini ditangani Dinas Sosial sendiri.",
    "Lengkapi dulu surat keterangan tidak mampu dari desa sebelum dirujuk.",
    "Pengadu sudah terdaftar sebagai peserta mandiri; periksa ulang kebutuhan layanannya.",
)

FAILURE_REASONS = {
    "bpjs_kesehatan": "Kuota PBI-JK daerah tahun ini sudah penuh; diusulkan kembali pada pemutakhiran berikutnya.",
    "disdukcapil": "Pengadu tidak datang ke kantor untuk perekaman biometrik setelah tiga kali dijadwalkan.",
    "education": "Anak sudah tidak bersekolah sejak semester lalu; PIP tidak dapat dicairkan.",
    "baznas": "Alamat pengadu tidak ditemukan saat verifikasi lapangan; bantuan tidak dapat diserahkan.",
    "housing": "Rumah berdiri di lahan sengketa; bantuan RTLH tidak dapat dibangun.",
}

SERVICES_GIVEN = {
    "bpjs_kesehatan": "Kepesertaan PBI-JK aktif; kartu KIS digital sudah dapat digunakan di puskesmas.",
    "disdukcapil": "Dokumen kependudukan diterbitkan dan diserahkan langsung kepada pengadu.",
    "education": "Anak ditetapkan sebagai penerima PIP; dana disalurkan melalui rekening SimPel.",
    "baznas": "Bantuan paket sembako dan uang tunai Rp500.000 diserahkan di kantor Baznas.",
    "housing": "Rumah masuk daftar penerima bantuan RTLH tahap berikutnya; survei teknis sudah dilakukan.",
}

REVOKE_REASONS = (
    "Rujukan salah alamat; kebutuhan pengadu ditangani instansi lain.",
    "Pengadu sudah mendapat layanan yang sama dari program pemerintah desa.",
)

CLOSE_NOTES = {
    "resolved": (
        "Layanan sudah diterima; pengadu menyatakan masalahnya selesai.",
        "Monitoring petugas Puskesos: layanan diterima dengan baik.",
    ),
    "withdrawn": (
        "Pengadu menyatakan masalahnya sudah selesai sendiri.",
        "Pengadu mencabut pengaduan karena pindah ke luar kabupaten.",
    ),
    "unreachable": (
        "Tiga kali kunjungan dan telepon tidak berhasil; pengadu pindah tanpa alamat baru.",
        "Pengadu tidak dapat dihubungi selama dua minggu; keluarga menyebut ia merantau.",
    ),
}

REOPEN_REASONS = (
    "Pengadu mengajukan keberatan dengan bukti baru (surat keterangan PHK).",
    "Hasil monitoring: asesmen perlu diulang karena kondisi keluarga berubah.",
)
